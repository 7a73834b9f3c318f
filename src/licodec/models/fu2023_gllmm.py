"""Fu, Liang, Lin, Li, Akbari, Liang, Zhang, Liu, Tu, Han: Learned Image Compression with Discretized
Gaussian-Laplacian-Logistic Mixture Model and Concatenated Residual Modules (arXiv 2107.06463, IEEE TIP 2023).

Cheng 2020's attention model with two changes:
- every residual block of the transforms becomes a concatenated residual block, x + RB(RB(x));
- the entropy model is the GLLMM: per latent element three Gaussian, three Laplacian and three Logistic
  components, weighted within each family and across the families (``DiscretizedMixture.gllmm``).

    g_a: RBS CRB RBS A CRB RBS CRB conv/2 A          g_s: A CRB RBU CRB RBU A CRB RBU CRB subpel/2
    hyperprior, 5x5 context and entropy parameters as in Cheng 2020, with 3*9 + 3 outputs per element.
"""

from licodec.entropy import DiscretizedMixture
from licodec.layers import ConcatenatedResidualBlock
from licodec.models.cheng2020 import cheng2020
from licodec.models.hyperprior import ContextHyperprior
from licodec.models.registry import register


@register("fu2023-gllmm", N=128, per_family=3, rates=1)
def fu2023_gllmm(N: int, per_family: int, rates: int) -> ContextHyperprior:
    return cheng2020(N, per_family, rates, attention=True, checkerboard=False, block=ConcatenatedResidualBlock,
                     mixture=DiscretizedMixture.gllmm(per_family))  # fmt: skip


@register("fu2023-gllmm-ckbd", N=128, per_family=3, rates=1)
def fu2023_gllmm_ckbd(N: int, per_family: int, rates: int) -> ContextHyperprior:
    """The same with the checkerboard context (He et al. 2021) for two-step parallel decoding."""
    return cheng2020(N, per_family, rates, attention=True, checkerboard=True, block=ConcatenatedResidualBlock,
                     mixture=DiscretizedMixture.gllmm(per_family))  # fmt: skip
