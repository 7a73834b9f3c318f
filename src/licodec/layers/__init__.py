"""Building blocks of the transforms: convolutions, residual and attention blocks, GDN, masked convolution
(octave convolutions in layers/octave.py). Entropy and context models and the model families compose these."""

from licodec.layers.blocks import (
    GDN,
    AttentionBlock,
    BottleneckResidual,
    ConcatenatedResidualBlock,
    ImportanceMap,
    MaskedConv2d,
    MultiScaleResidualBlock,
    PostQuantizationFilter,
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    ResidualUnit,
    SubpelConv,
    conv1x1,
    conv3x3,
    pointwise,
)

__all__ = [
    "AttentionBlock",
    "BottleneckResidual",
    "ConcatenatedResidualBlock",
    "GDN",
    "ImportanceMap",
    "MaskedConv2d",
    "MultiScaleResidualBlock",
    "PostQuantizationFilter",
    "ResidualBlock",
    "ResidualBlockUpsample",
    "ResidualBlockWithStride",
    "ResidualUnit",
    "SubpelConv",
    "conv1x1",
    "conv3x3",
    "pointwise",
]
