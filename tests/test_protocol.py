"""Spike-GAN and the baselines follow one protocol (issue 13, item 6)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from spikegan_tf.baselines import DichotomizedGaussian, IndependentBernoulli, KPairwiseMaxEnt
from spikegan_tf.gan import SpikeGAN
from spikegan_tf.protocol import SpikeModel

WINDOWS = (np.random.default_rng(0).random((128, 3, 8)) < 0.2).astype(np.uint8)


def _models():
    yield SpikeGAN(3, 8, num_features=4, latent_dim=8), dict(steps=2, batch_size=16,
                                                             eval_every=0, verbose=0)
    yield IndependentBernoulli(), {}
    yield DichotomizedGaussian(max_lag=1), {}
    yield KPairwiseMaxEnt(method="exact", n_iterations=5), {}


@pytest.mark.parametrize("model, kwargs", list(_models()),
                         ids=lambda m: type(m).__name__ if not isinstance(m, dict) else "")
def test_fit_returns_the_model_sample_seeds_and_fitted_attributes_end_in_underscore(
        model, kwargs, tmp_path):
    assert isinstance(model, SpikeModel)
    assert inspect.signature(model.sample).parameters["seed"].default is None
    options = {k: v for k, v in vars(model).items()
               if not k.startswith("_") and not k.endswith("_")}
    assert model.fit(WINDOWS, seed=0, **kwargs) is model
    public = {k for k in vars(model) if not k.startswith("_")}
    # fitting adds only attributes ending in "_" and leaves the options as they were
    assert {k for k in public if not k.endswith("_")} == set(options)
    assert all(getattr(model, k) is v for k, v in options.items())
    fitted = [k for k in public if k.endswith("_")]
    assert fitted and all(getattr(model, k) is not None for k in ("n_neurons_", "generator_")
                          if k in fitted)
    a, b = model.sample(5, seed=3), model.sample(5, seed=3)
    assert a.shape == (5, 3, 8) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    path = tmp_path / ("model" if isinstance(model, SpikeGAN) else "model.npz")
    model.save(path)
    np.testing.assert_array_equal(type(model).load(path).sample(5, seed=3), a)
