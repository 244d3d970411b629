"""Shared test set-up.

TensorFlow is configured once, before any test builds a model: logs are quiet
and the host CPU is split into 2 logical devices so that ``MirroredStrategy``
can be tested on a machine without GPUs.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # already initialised (e.g. by a plugin); distributed test will skip
    pass


@pytest.fixture(autouse=True)
def _fit_filters_on_256_stretches(monkeypatch):
    """Temporal filters are fitted on 256 raster stretches in tests, as before session 39.

    The default (``history_fit.stretch_count``: up to 1,024) lowers the fit's sampling noise
    on real populations; no assertion here depends on the count, and the tiny test models pay
    ~2.5x per fit for it (110 s of the suite). ``test_history`` checks the default itself.
    """
    from spikegan_tf.gan import history_fit

    monkeypatch.setattr(history_fit, "MAX_STRETCHES", history_fit.STRETCHES)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy Generator (tests never use the global RNG)."""
    return np.random.default_rng(12345)


def _history_recursion(p: np.ndarray, u: np.ndarray, h: np.ndarray,
                       w: np.ndarray | None = None) -> np.ndarray:
    """The spike-history draw written out element by element, in float64.

    ``h (N, L)`` is the filter, ``w (N, N)`` the optional lag-1 coupling, or ``(2, N, N)``
    a same-bin coupling and the lag-1 one (``spikegan_tf.gan.history``): each neuron
    drawn after the lower-numbered ones of its bin, one at a time; the exact oracle of
    the vectorised draws (which find the same spikes as a fixed point).
    """
    w0 = None
    if w is not None and np.ndim(w) == 3:
        w0, w = w
    x = np.zeros(p.shape, np.uint8)
    for s in range(p.shape[0]):
        for t in range(p.shape[2]):
            for n in range(p.shape[1]):
                drive = sum(float(h[n, lag - 1]) * x[s, n, t - lag]
                            for lag in range(1, min(h.shape[1], t) + 1))
                if t and w is not None:
                    drive += sum(float(w[n, j]) * x[s, j, t - 1] for j in range(p.shape[1]))
                if w0 is not None:
                    drive += sum(float(w0[n, j]) * x[s, j, t] for j in range(n))
                q = p[s, n, t] if drive == 0 else 1 / (1 + np.exp(-(np.log(p[s, n, t] / (
                    1 - p[s, n, t])) + drive)))
                x[s, n, t] = u[s, n, t] < q
    return x


@pytest.fixture
def history_oracle():
    """:func:`_history_recursion`: ``oracle(p, u, h, w=None) -> spikes``."""
    return _history_recursion


def _graph_parities(generator, config, history, coupling=None, n=128):
    """Parity of the lean and the Keras serving graphs' spikes with the numpy draw.

    ``[(Parity, spikes, expected)]`` for the lean and the Keras graph on ``n``
    seeded draws; ``expected`` is the numpy draw with ``history`` and ``coupling``
    (what the generator carries) from the Keras probabilities.
    """
    from spikegan_tf.export.graph import serving_function
    from spikegan_tf.export.parity import measure_parity

    z = np.random.default_rng(0).standard_normal(
        (n, int(generator.inputs[0].shape[-1]))).astype(np.float32)
    u = np.random.default_rng(1).random((n, config.n_neurons, config.n_bins), dtype=np.float32)
    from spikegan_tf.gan.history import draw_spikes

    ref = generator(z).numpy()
    expected = draw_spikes(ref, u, history, coupling=coupling)
    out = []
    for lean in (True, False):
        got = serving_function(generator, config, lean=lean)(z, u)
        spikes = got["spikes"].numpy()
        out.append((measure_parity("tf", ref, got["probs"].numpy(), spikes, u, history=history,
                                   coupling=coupling), spikes, expected))
    return out


@pytest.fixture
def graph_parities():
    """:func:`_graph_parities`: ``parities(generator, config, history, coupling=None)``."""
    return _graph_parities
