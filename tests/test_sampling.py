"""Sampling: seeded, chunk-independent Bernoulli draws; bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.sampling import sample, sampling_streams


@pytest.fixture(scope="module")
def generator():
    return build_generator(ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=16),
                           seed=0)


def test_same_seed_same_windows_and_chunking_does_not_matter(generator):
    x = sample(generator, 100, seed=7)
    assert x.shape == (100, 4, 8) and x.dtype == np.uint8
    assert set(np.unique(x)) <= {0, 1}
    np.testing.assert_array_equal(x, sample(generator, 100, seed=7, chunk_size=13))
    assert not np.array_equal(x, sample(generator, 100, seed=8))
    np.testing.assert_array_equal(x[:30], sample(generator, 30, seed=7))


def test_bernoulli_draws_follow_the_protocol_and_the_probabilities(generator):
    n = 2000
    z_rng, u_rng = sampling_streams(3)
    z = z_rng.standard_normal((n, 16), dtype=np.float32)
    probs = np.asarray(generator(z))
    u = u_rng.random((n, 4, 8), dtype=np.float32)
    x = sample(generator, n, seed=3)
    np.testing.assert_array_equal(x, (u < probs).astype(np.uint8))
    # the mean spike count matches the mean probability (binomial standard error)
    se = np.sqrt((probs * (1 - probs)).sum()) / x.size
    assert abs(x.mean() - probs.mean()) < 5 * se


def test_threshold_is_deterministic_and_explicit(generator):
    z = sampling_streams(0)[0].standard_normal((50, 16), dtype=np.float32)
    probs = np.asarray(generator(z))
    t = float(np.median(probs))
    x = sample(generator, 50, seed=0, threshold=t)
    np.testing.assert_array_equal(x, (probs > t).astype(np.uint8))


def test_memory_stays_bounded_when_writing_to_a_memmap(generator, tmp_path):
    n, chunk = 40_000, 1000  # 1.3 MB of windows; each chunk needs ~0.3 MB of arrays
    out = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                    shape=(n, 4, 8))
    tracemalloc.start()
    try:
        sample(generator, n, seed=0, chunk_size=chunk, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out.flush()
    assert peak < 0.5 * n * 4 * 8  # never the whole array, only a few chunks
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy")[:100], sample(generator, 100, 0))


def test_default_chunk_bounds_memory_for_large_windows_and_changes_nothing():
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator
    from spikegan_tf.gan.sampling import CHUNK_ELEMENTS, default_chunk, iter_sample_chunks

    assert default_chunk(1024, 64) * 1024 * 64 <= CHUNK_ELEMENTS < (default_chunk(1024, 64)
                                                                   + 1) * 1024 * 64
    assert default_chunk(50, 32) == 8192 and default_chunk(2**20, 64) == 1
    g = build_generator(ModelConfig(n_neurons=4, n_bins=8, num_features=4, latent_dim=8))
    import spikegan_tf.gan.sampling as sampling

    old = sampling.CHUNK_ELEMENTS
    sampling.CHUNK_ELEMENTS = 4 * 8 * 3  # three windows per chunk
    try:
        sizes = [len(c) for c in iter_sample_chunks(g, 10, seed=0)]
        small = sampling.sample(g, 10, seed=0)
    finally:
        sampling.CHUNK_ELEMENTS = old
    assert sizes == [3, 3, 3, 1]
    np.testing.assert_array_equal(small, sampling.sample(g, 10, seed=0, chunk_size=10))
