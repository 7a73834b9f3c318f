import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.coding.coder import Decoder, Encoder
from licodec.entropy import DiscretizedMixture, FactorizedDensity, MixtureParams, noise_quantize, ste_round
from licodec.entropy.bounds import SCALE_BOUND
from licodec.entropy.tables import channel_tables, factorized_tables, mixture_tables

MIXTURES = {
    "gaussian": DiscretizedMixture(("gaussian",)),
    "laplace": DiscretizedMixture(("laplace",)),
    "logistic": DiscretizedMixture(("logistic",)),
    "gmm3": DiscretizedMixture.gaussian(3),
    "gllmm": DiscretizedMixture.gllmm(3),
}


def random_params(mixture: DiscretizedMixture, n: int, gen: torch.Generator, spread: float = 3.0) -> MixtureParams:
    k = mixture.k
    raw = torch.randn(1, mixture.params_per_element, n, generator=gen)
    raw[:, -k:] = torch.exp(torch.randn(1, k, n, generator=gen) * 1.2) * 0.7  # scales
    raw[:, -2 * k : -k] *= spread  # means
    return mixture.split(raw.reshape(1, mixture.params_per_element * n))


def sample(mixture: DiscretizedMixture, mp: MixtureParams, gen: torch.Generator) -> torch.Tensor:
    """Draw integer symbols from the mixture: pick a component, then round a draw of its family."""
    w = mp.weights[0].reshape(mixture.k, -1).t()
    comp = torch.multinomial(w, 1, generator=gen).reshape(-1)
    idx = torch.arange(len(comp))
    mu = mp.means[0].reshape(mixture.k, -1)[comp, idx]
    s = mp.scales[0].reshape(mixture.k, -1)[comp, idx]
    u = torch.rand(len(comp), generator=gen).clamp(1e-12, 1 - 1e-12)
    noise = torch.empty(len(comp))
    for f in set(mixture.families):
        members = torch.tensor([x == f for x in mixture.families])[comp]
        if f == "gaussian":
            z = torch.special.ndtri(u)
        elif f == "laplace":
            z = -torch.sign(u - 0.5) * torch.log1p(-2 * (u - 0.5).abs())
        else:
            z = torch.log(u) - torch.log1p(-u)
        noise = torch.where(members, z, noise)
    return torch.round(mu + s * noise)


def code_roundtrip(groups_fn, symbols: np.ndarray) -> tuple[np.ndarray, int]:
    enc = Encoder()
    enc.encode(symbols, groups_fn())
    data = enc.finish()
    return Decoder(data).decode(len(symbols), groups_fn()), len(data)


@pytest.mark.parametrize("name", sorted(MIXTURES))
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 300), far=st.sampled_from([0.0, 1e2, 1e3, 1e6]))
def test_decode_of_encode_is_exact_even_far_in_the_tails(name, seed, n, far):
    mixture = MIXTURES[name]
    gen = torch.Generator().manual_seed(seed)
    mp = random_params(mixture, n, gen)
    symbols = sample(mixture, mp, gen)
    if far:  # some symbols hundreds of scales (or more) away from every mean
        pick = torch.rand(n, generator=gen) < 0.2
        symbols = torch.where(pick, symbols + torch.sign(torch.randn(n, generator=gen)) * far, symbols)
    symbols = symbols.to(torch.int64).numpy()
    decoded, _ = code_roundtrip(lambda: mixture_tables(mixture, mp), symbols)
    assert np.array_equal(decoded, symbols)


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_coded_size_matches_training_likelihood(name):
    mixture = MIXTURES[name]
    gen = torch.Generator().manual_seed(7)
    # 10^6 symbols per single family; mixtures (3-9 components, wider windows) use fewer to keep CI short.
    n = 1_000_000 if mixture.k == 1 else 200_000
    mp = random_params(mixture, n, gen)
    symbols = sample(mixture, mp, gen)
    ideal_bits = float(-torch.log2(mixture.likelihood(symbols[None], mp)).sum())
    decoded, size = code_roundtrip(lambda: mixture_tables(mixture, mp), symbols.to(torch.int64).numpy())
    assert np.array_equal(decoded, symbols.to(torch.int64).numpy())
    ideal_bytes = ideal_bits / 8
    assert size <= ideal_bytes * 1.005 + 16, (size, ideal_bytes)
    assert size >= ideal_bytes * 0.995 - 16, (size, ideal_bytes)


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_likelihood_gradients_finite_at_scale_bound_and_far_tails(name):
    mixture = MIXTURES[name]
    k = mixture.k
    distances = torch.tensor([0.0, 0.3, 0.5, 3.0, 40.0, 1e3, 1e4, -1e4, -7.5])
    n = len(distances)
    raw = torch.zeros(1, mixture.params_per_element, n)
    raw[:, -k:] = SCALE_BOUND * 0.5  # below the bound: clamped
    raw[:, -k:, ::2] = SCALE_BOUND
    raw = raw.reshape(1, -1).requires_grad_(True)
    y = distances.clone().requires_grad_(True)
    mp = mixture.split(raw)
    bits = -torch.log2(mixture.likelihood(y[None], mp)).sum()
    bits.backward()
    assert torch.isfinite(bits)
    assert torch.isfinite(raw.grad).all() and torch.isfinite(y.grad).all()


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_bin_masses_sum_to_one_and_edges_take_the_tails(name):
    mixture = MIXTURES[name]
    mp = random_params(mixture, 5, torch.Generator().manual_seed(3), spread=1.0).to(torch.float64)
    mp = MixtureParams(*(t.unsqueeze(-1) for t in (mp.weights, mp.means, mp.scales)))  # (1, K, 5, 1)
    wide = torch.arange(-3000, 3001, dtype=torch.float64).expand(1, 5, -1)
    assert torch.allclose(mixture.likelihood(wide, mp).sum(-1), torch.ones(1, 5, dtype=torch.float64), atol=1e-6)
    narrow = torch.arange(-6, 7, dtype=torch.float64).expand(1, 5, -1)
    bounded = mixture.likelihood(narrow, mp, bounds=(-6, 6)).sum(-1)
    assert torch.allclose(bounded, torch.ones(1, 5, dtype=torch.float64), atol=1e-9)


def test_factorized_density_tails_hold_its_mass_and_code_exactly():
    torch.manual_seed(0)
    density = FactorizedDensity(4)
    lower, upper = density.tails(1e-6)
    assert (lower < upper).all()
    values = torch.arange(-300, 301, dtype=torch.float32)
    masses = density.likelihood(values.reshape(1, 1, 1, -1).expand(1, 4, 1, -1).contiguous())
    assert torch.allclose(masses.sum(-1).flatten(), torch.ones(4), atol=1e-3)
    z = torch.randint(-40, 40, (4, 3, 5))
    z[0, 0, 0] = 10**6
    decoded, _ = code_roundtrip(lambda: factorized_tables(channel_tables(density), (4, 3, 5)), z.reshape(-1).numpy())
    assert np.array_equal(decoded, z.reshape(-1).numpy())


def test_quantization_proxies():
    y = torch.linspace(-5, 5, 1001, requires_grad=True)
    noisy = noise_quantize(y)
    assert (noisy - y).abs().max() <= 0.5
    rounded = ste_round(y)
    assert torch.equal(rounded, torch.round(y))
    rounded.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))
    assert math.isclose(float((noisy - y).detach().mean()), 0.0, abs_tol=0.05)


@pytest.mark.parametrize("name", ["gmm3", "gllmm"])
def test_large_step_tables_are_identical_on_one_and_two_threads(name):
    """Large steps build their tables on the caller's threads (entropy/tables.table_threads): the tables, and so the
    decoded symbols, must not depend on the thread count."""
    from licodec.entropy.tables import PARALLEL_TABLES, table_threads

    mixture = MIXTURES[name]
    n = 2 * PARALLEL_TABLES
    mp = random_params(mixture, n, torch.Generator().manual_seed(7))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with table_threads(n):
            assert torch.get_num_threads() == 2
            two = mixture_tables(mixture, mp)
        with table_threads(PARALLEL_TABLES - 1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        one = mixture_tables(mixture, mp)
    finally:
        torch.set_num_threads(before)
    assert len(one) == len(two)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a.index, b.index) and np.array_equal(a.offset, b.offset)
        assert np.array_equal(a.probs, b.probs)
