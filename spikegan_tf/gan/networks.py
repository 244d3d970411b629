"""Keras functional-API generator and critic of Spike-GAN.

Windows are ``(batch, n_neurons, n_bins)`` at the models' boundaries. Inside the
semi-convolutional models a ``Permute`` layer turns them into Conv1D's
``(batch, n_bins, n_neurons)``: neurons are channels and every convolution
shares its weights over time, as in the paper.

Built-in Keras layers are used (no ``Lambda``), and one of the package's own
(:class:`CountHistogram`, registered with Keras), so ``.keras`` files load in
safe mode without ``custom_objects``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from spikegan_tf.gan.conditioning import _conditioned_logits, _inputs, condition_inputs
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import draws_in_order, history_coupling, history_filter
from spikegan_tf.validation import check_seed

__all__ = ["build_generator", "build_critic", "critic_paths", "critic_path_count",
           "set_output_bias", "output_bias_layer",
           "calibrate_output_bias", "build_raster_generator", "lagged_coincidences",
           "CountHistogram", "critic_path_names"]


class _Inits:
    """Normal(0, ``init_stddev``) initialisers, one integer seed per layer when seeded.

    Keras' unseeded initialisers draw from a global seed; an integer seed makes
    each layer's initial weights a pure function of ``seed`` (no global state).
    """

    def __init__(self, config: ModelConfig, seed: int | None) -> None:
        self._stddev = config.init_stddev
        self._seeds = (None if seed is None else
                       iter(int(s) for s in np.random.SeedSequence(seed).generate_state(64)
                            % 2**31))

    def __call__(self) -> keras.initializers.Initializer:
        return keras.initializers.RandomNormal(stddev=self._stddev, seed=self._next())

    def glorot(self) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=self._next())

    def he(self) -> keras.initializers.Initializer:
        return keras.initializers.HeUniform(seed=self._next())

    def _next(self) -> int | None:
        return None if self._seeds is None else next(self._seeds)


def _temporal_stack(config: ModelConfig, init: _Inits | None, dtype: str | None) -> list[Any]:
    """The temporal generator's layers, in call order (shared by window and raster models)."""
    def kw():
        if init is None:
            return {}
        return {"kernel_initializer": init.he() if config.temporal_init == "he" else init.glorot()}

    stack = []
    if config.latent_scales > 1:
        stack.append(layers.DepthwiseConv1D(config.smoothing_width, padding="valid",
                                            use_bias=False, dtype=dtype, name="latent_smooth"))
    for i in range(config.temporal_layers):
        stack.append(layers.Conv1D(config.temporal_features, config.kernel_size,
                                   dilation_rate=2**i, padding="valid", dtype=dtype,
                                   name=f"tconv_{i + 1}", **kw()))
        stack.append(layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                                      name=f"tact_{i + 1}"))
    # the output layer keeps the paper's small normal init: logits start at the bias
    stack.append(layers.Conv1D(config.n_neurons, 1, dtype=dtype, name="logits",
                               **({} if init is None else {"kernel_initializer": init()})))
    stack.append(layers.Activation("sigmoid", dtype="float32", name="sigmoid"))
    return stack


def smoothing_kernel(config: ModelConfig) -> np.ndarray:
    """Initial kernel ``(width, latent_channels, 1)`` of the latent smoothing: moving averages.

    Channel ``c`` averages the last ``2**(c % latent_scales)`` bins, scaled to
    unit variance on white noise.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, architecture="temporal", latent_channels=3,
    ...                   latent_scales=2)
    >>> smoothing_kernel(cfg)[:, :, 0].astype(float).round(3).tolist()
    [[0.0, 0.707, 0.0], [1.0, 0.707, 1.0]]
    """
    width = config.smoothing_width
    kernel = np.zeros((width, config.latent_channels, 1), np.float32)
    for c in range(config.latent_channels):
        w = 2 ** (c % config.latent_scales)
        kernel[width - w:, c, 0] = 1.0 / np.sqrt(w)
    return kernel


def _temporal_names(config: ModelConfig) -> list[str]:
    """The names of :func:`_temporal_stack`'s layers, in call order."""
    return [layer.name for layer in _temporal_stack(config, None, None)]


def build_raster_generator(generator: Any, config: ModelConfig) -> keras.Model:
    """The temporal generator as a raster model: latent sequence -> continuous probabilities.

    Takes ``z (batch, T + receptive_field - 1, latent_channels)`` and returns
    firing probabilities ``(batch, T, n_neurons)`` (raster layout) for any
    ``T``, through the same layers (and weights) as ``generator``. Output bin
    ``t`` depends on latent steps ``t .. t + receptive_field - 1`` only, so
    consecutive pieces computed from overlapping latent slices join exactly:
    a raster of any length is continuous and can be generated in chunks.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)
    >>> g = build_generator(cfg, seed=0)
    >>> r = build_raster_generator(g, cfg)
    >>> z = np.random.default_rng(0).standard_normal((1, 100, cfg.latent_channels))
    >>> whole = r(z.astype("float32")).numpy()
    >>> whole.shape
    (1, 88, 3)
    >>> parts = [r(z[:, a:a + 44 + cfg.receptive_field - 1].astype("float32")).numpy()
    ...          for a in (0, 44)]
    >>> bool(np.allclose(np.concatenate(parts, axis=1), whole, atol=1e-6))
    True
    """
    if config.architecture != "temporal":
        raise ValueError("Only the temporal architecture generates continuous rasters; "
                         f"received architecture={config.architecture!r}.")
    if config.conditional:
        raise ValueError("Continuous rasters are not available for conditional models yet: "
                         "sample windows with their conditions instead.")
    z = keras.Input(shape=(None, config.latent_channels), name="z_sequence")
    h = z
    for name in _temporal_names(config):
        h = generator.get_layer(name)(h)
    return keras.Model(z, h, name=f"{generator.name}_raster")


def build_generator(config: ModelConfig, *, dtype: str | None = None,
                    name: str = "generator", seed: int | None = None) -> keras.Model:
    """Build the generator ``z -> firing probabilities (batch, n_neurons, n_bins)``.

    Semi-convolutional (``architecture="conv"``): Dense to
    ``(n_bins / 2**L, num_features * 2**(L-1))``, LeakyReLU, then ``L`` blocks
    that double the time axis (nearest-neighbour upsampling + Conv1D, or a
    stride-2 transposed convolution), mirroring the critic, the last one to
    ``n_neurons`` channels with a sigmoid. Fully connected (``"fc"``):
    ``fc_layers`` ReLU layers of ``num_units`` and a sigmoid output.
    Temporal (``"temporal"``): ``z`` reshaped to a latent sequence
    ``(latent_bins, latent_channels)``, ``temporal_layers`` dilated "valid"
    Conv1D + LeakyReLU, a per-bin Conv1D to ``n_neurons`` and a sigmoid: a
    stationary, seamless generator (see :func:`build_raster_generator`).

    Parameters
    ----------
    config : ModelConfig
        Architecture.
    dtype : str, optional
        Keras dtype policy, e.g. ``"mixed_float16"``; the output stays float32.
    name : str
        Model name.
    seed : int, optional
        Seed of the initial weights (unseeded: Keras' global seed stream).

    Examples
    --------
    >>> import numpy as np
    >>> g = build_generator(ModelConfig(n_neurons=3, n_bins=8, num_features=4))
    >>> tuple(g(np.zeros((2, 128), "float32")).shape)
    (2, 3, 8)
    """
    init = _Inits(config, check_seed(seed))
    z = keras.Input(shape=(config.latent_dim,), name="z")
    label, cov = condition_inputs(config)
    inputs = _inputs(z, label, cov)
    embedded = None
    if label is not None:
        embedded = layers.Dense(config.label_dim, use_bias=False, kernel_initializer=init(),
                                dtype=dtype, name="label_embed")(label)
    if config.architecture == "temporal":
        h = layers.Reshape((config.latent_bins, config.latent_channels), name="to_sequence")(z)
        stack = _temporal_stack(config, init, dtype)
        body, (logits, sigmoid) = stack[:-2], stack[-2:]
        for layer in body:
            if embedded is not None and layer.name == "tconv_1":
                h = layers.Concatenate(dtype=dtype, name="with_label")(
                    [h, layers.RepeatVector(h.shape[1], dtype=dtype,
                                            name="label_time")(embedded)])
            h = layer(h)
        if cov is not None:
            h = layers.Concatenate(dtype=dtype, name="with_covariates")([h, cov])
        h = sigmoid(_conditioned_logits(logits(h), label, cov, config, dtype))
        probs = layers.Permute((2, 1), dtype="float32", name="probs")(h)
        model = keras.Model(inputs, probs, name=name)
        if config.latent_scales > 1:
            model.get_layer("latent_smooth").kernel.assign(smoothing_kernel(config))
        return model
    if config.architecture == "fc":
        parts = [z] + ([] if embedded is None else [embedded])
        if cov is not None:
            parts.append(layers.Flatten(dtype=dtype, name="covariates_flat")(cov))
        h = z if len(parts) == 1 else layers.Concatenate(dtype=dtype, name="z_conditions")(parts)
        for i in range(config.fc_layers):
            h = layers.Dense(config.num_units, activation="relu", kernel_initializer=init(),
                             dtype=dtype, name=f"dense_{i + 1}")(h)
        h = layers.Dense(config.n_neurons * config.n_bins, kernel_initializer=init(),
                         dtype=dtype, name="logits")(h)
        h = layers.Reshape((config.n_neurons, config.n_bins), name="to_windows")(h)
        probs = layers.Activation("sigmoid", dtype="float32", name="probs")(h)
        return keras.Model(inputs, probs, name=name)

    n_layers = config.num_layers
    features = list(config.critic_features)  # e.g. [128, 256]
    bins0 = config.n_bins // 2**n_layers
    h = z if embedded is None else layers.Concatenate(dtype=dtype, name="z_label")([z, embedded])
    h = layers.Dense(bins0 * features[-1], kernel_initializer=init(), dtype=dtype,
                     name="project")(h)
    h = layers.Reshape((bins0, features[-1]), name="reshape")(h)
    h = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype, name="project_act")(h)
    out_channels = features[-2::-1] + [config.num_features if config.output_kernel
                                       else config.n_neurons]
    for i, ch in enumerate(out_channels):
        last = i == n_layers - 1 and not config.output_kernel
        if cov is not None:  # the covariates at this block's input resolution
            pool = config.n_bins // (bins0 * 2**i)
            pooled = (layers.AveragePooling1D(pool, dtype=dtype, name=f"covariates_pool_{i + 1}")
                      (cov) if pool > 1 else cov)
            h = layers.Concatenate(dtype=dtype, name=f"with_covariates_{i + 1}")([h, pooled])
        if config.upsampling == "resize":
            h = layers.UpSampling1D(2, dtype=dtype, name=f"up_{i + 1}")(h)
            h = layers.Conv1D(ch, config.kernel_size, padding="same", kernel_initializer=init(),
                              dtype=dtype, name=f"conv_{i + 1}")(h)
        else:
            h = layers.Conv1DTranspose(ch, config.kernel_size, strides=2, padding="same",
                                       kernel_initializer=init(), dtype=dtype,
                                       name=f"deconv_{i + 1}")(h)
        if not last:
            h = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                                 name=f"act_{i + 1}")(h)
    if config.output_kernel:  # logits from full-resolution neighbours of both phases
        h = layers.Conv1D(config.n_neurons, config.output_kernel, padding="same",
                          kernel_initializer=init(), dtype=dtype, name="output_conv")(h)
    h = _conditioned_logits(h, label, cov, config, dtype)
    h = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(h)
    probs = layers.Permute((2, 1), dtype="float32", name="probs")(h)  # -> (batch, neurons, bins)
    return keras.Model(inputs, probs, name=name)


def output_bias_layer(generator: Any, config: ModelConfig) -> Any:
    """The generator's last linear layer, whose bias feeds the sigmoid directly."""
    if config.architecture in ("fc", "temporal"):
        return generator.get_layer("logits")
    if config.output_kernel:
        return generator.get_layer("output_conv")
    prefix = "conv" if config.upsampling == "resize" else "deconv"
    return generator.get_layer(f"{prefix}_{config.num_layers}")


def set_output_bias(generator: Any, config: ModelConfig, firing_probability: Any) -> None:
    """Set the generator's output bias to the logit of each neuron's firing probability.

    With the small initial weights, a new generator then starts out firing at the
    data's rates instead of 0.5 everywhere (the output-bias initialisation of
    classifiers with a known base rate). The critic no longer has to teach the
    rates first. On the retina after 20 minutes (lr 3e-4, one seed) it ended
    below the 0.5 start on every statistic, e.g. 2.39x against 2.55x the noise
    floor on firing rates and 1.66x against 1.79x on covariances
    (``benchmarks/results/retina_lr3e-4_rateinit`` and ``..._paperinit``).

    Parameters
    ----------
    generator : keras.Model
        From :func:`build_generator` with ``config``.
    config : ModelConfig
    firing_probability : array_like
        ``(n_neurons,)`` probabilities, clipped to ``[1e-4, 1 - 1e-4]``.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, num_features=4)
    >>> g = build_generator(cfg, seed=0)
    >>> set_output_bias(g, cfg, [0.1, 0.5])
    >>> [round(float(v), 6) for v in g(np.zeros((1, 128), "float32")).numpy()[0, :, 0]]
    [0.1, 0.5]
    """
    p = np.clip(np.asarray(firing_probability, dtype=np.float64).ravel(), 1e-4, 1 - 1e-4)
    if p.shape != (config.n_neurons,):
        raise ValueError(f"`firing_probability` must have shape ({config.n_neurons},); "
                         f"received {p.shape}.")
    logit = np.log(p) - np.log1p(-p)
    if config.architecture == "fc":  # Dense output ordered (neuron, bin)
        logit = np.repeat(logit, config.n_bins)
    layer = output_bias_layer(generator, config)
    layer.bias.assign(logit.astype(layer.bias.dtype))


#: Fixed-point steps of :func:`calibrate_output_bias` for a generator with a spike-history filter.
HISTORY_RATE_STEPS = 12


def calibrate_output_bias(generator: Any, config: ModelConfig, firing_probability: Any, *,
                          n_samples: int = 8192, seed: int | None = 0,
                          batch_size: int = 1024) -> np.ndarray:
    """Shift the generator's output bias so each neuron's mean firing probability is the data's.

    A trained generator's per-neuron rates sit below the data's as long as
    it under-produces the correlations (the Wasserstein-closest less-correlated
    model fires less: ``benchmarks/w1_rate_deficit.py``). This moves each
    neuron's logits by the one constant ``d[n]`` that makes its mean
    probability over ``n_samples`` latent draws and all bins equal to
    ``firing_probability[n]`` (a monotone 1-D root, solved exactly); the
    network's weights, and so the shape of its correlations, are untouched.
    A generator with a spike-history filter (:mod:`spikegan_tf.gan.history`)
    then takes :data:`HISTORY_RATE_STEPS` steps of
    :func:`spikegan_tf.gan.history_fit.settle_offsets`, so that its *spikes*,
    drawn with the filter, fire at those rates: in its windows, or for a
    ``"temporal"`` generator in its continuous raster
    (:func:`spikegan_tf.gan.history_fit.stationary_rate_offsets`).

    Parameters
    ----------
    generator : keras.Model
        From :func:`build_generator` with ``config``; changed in place.
    config : ModelConfig
    firing_probability : array_like
        ``(n_neurons,)`` target rates, clipped to ``[1e-4, 1 - 1e-4]``.
    n_samples : int
        Latent draws the means are taken over (fewer for large populations:
        :func:`spikegan_tf.gan.positions.calibration_samples`).
    seed : int or None
        Seed of the latent draws.
    batch_size : int
        Windows per generator call.

    Returns
    -------
    numpy.ndarray
        The shifts ``d`` ``(n_neurons,)`` added to the logits.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, num_features=4, latent_dim=8)
    >>> g = build_generator(cfg, seed=0)
    >>> _ = calibrate_output_bias(g, cfg, [0.05, 0.2], n_samples=512, seed=0)
    >>> z = np.random.default_rng(0).standard_normal((512, 8)).astype("float32")
    >>> [round(float(r), 4) for r in g(z).numpy().mean(axis=(0, 2))]
    [0.05, 0.2]
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    from spikegan_tf.gan.positions import latent_logits

    target = np.clip(np.asarray(firing_probability, dtype=np.float64).ravel(), 1e-4, 1 - 1e-4)
    if target.shape != (config.n_neurons,):
        raise ValueError(f"`firing_probability` must have shape ({config.n_neurons},); "
                         f"received {target.shape}.")
    logits = latent_logits(generator, config, n_samples, seed, batch_size)  # (n, neurons, bins)
    shift = np.empty(config.n_neurons)
    for n in range(config.n_neurons):
        a = logits[:, n, :].ravel()
        shift[n] = brentq(lambda d, a=a, r=target[n]: expit(a + d).mean() - r, -40.0, 40.0,
                          xtol=1e-10)
    history = history_filter(generator)
    coupling = history_coupling(generator)
    layer = output_bias_layer(generator, config)
    if draws_in_order(history, coupling) and config.architecture == "temporal":
        # a raster's spikes: the filter's drive runs on, so settle on stretches of the raster
        from spikegan_tf.gan.history_fit import stationary_rate_offsets

        layer.bias.assign((layer.bias.numpy() + shift).astype(layer.bias.dtype))
        moved = stationary_rate_offsets(generator, config, history, HISTORY_RATE_STEPS,
                                        seed=seed, coupling=coupling)
        layer.bias.assign((layer.bias.numpy() + moved).astype(layer.bias.dtype))
        return shift + moved
    if history is not None and draws_in_order(history, coupling):
        # the spikes' rates, drawn with the filter (and the coupling)
        from scipy.special import logit

        from spikegan_tf.gan.history_fit import fit_uniforms, settle_offsets

        base = np.ascontiguousarray(np.moveaxis(logits, 2, 0), dtype=np.float32)  # (T, n, N)
        moved, _ = settle_offsets(base, fit_uniforms(seed, base.shape), history,
                                  logit(target)[None, None, :],
                                  shift.astype(np.float32)[None, None, :], HISTORY_RATE_STEPS,
                                  coupling=coupling)
        shift = moved[0, 0].astype(np.float64)
    delta = np.repeat(shift, config.n_bins) if config.architecture == "fc" else shift
    layer.bias.assign((layer.bias.numpy() + delta).astype(layer.bias.dtype))
    return shift


def lagged_coincidences(x: Any, max_lag: int, dtype: str | None = None) -> Any:
    """Keras graph: windows ``(batch, N, T)`` -> ``(batch, N * max_lag)`` lagged self-coincidences.

    Feature ``(k - 1) * N + n`` is ``sum_t x[n, t] * x[n, t + k]``: neuron
    ``n``'s spikes ``k`` bins apart (its autocorrelogram at lag ``k``, per
    window). Built-in layers only, so a ``.keras`` file with it loads in safe
    mode.

    Examples
    --------
    >>> import keras, numpy as np
    >>> x = keras.Input(shape=(2, 5))
    >>> m = keras.Model(x, lagged_coincidences(x, 2))
    >>> w = np.array([[[1, 1, 0, 1, 1], [1, 0, 1, 0, 1]]], "float32")
    >>> m(w).numpy().tolist()  # lag 1 of both neurons, then lag 2
    [[2.0, 0.0, 1.0, 2.0]]
    """
    n_bins = x.shape[-1]
    xt = layers.Permute((2, 1), dtype=dtype, name="lags_to_time")(x)  # (batch, T, N)
    feats = []
    for k in range(1, max_lag + 1):
        early = layers.Cropping1D((0, k), dtype=dtype, name=f"lag{k}_early")(xt)
        late = layers.Cropping1D((k, 0), dtype=dtype, name=f"lag{k}_late")(xt)
        both = layers.Multiply(dtype=dtype, name=f"lag{k}_product")([early, late])
        mean = layers.GlobalAveragePooling1D(dtype=dtype, name=f"lag{k}_mean")(both)
        feats.append(layers.Rescaling(float(n_bins - k), dtype=dtype, name=f"lag{k}_sum")(mean))
    if len(feats) == 1:
        return feats[0]
    return layers.Concatenate(dtype=dtype, name="lag_features")(feats)


@keras.saving.register_keras_serializable(package="spikegan_tf")
class CountHistogram(layers.Layer):
    """Windows ``(batch, N, T)`` -> ``(batch, C + 1)``: the histogram of population counts.

    Feature ``k < C`` is the number of the window's bins in which exactly
    ``k`` neurons spike, feature ``C`` the number with ``C`` or more. Between
    spikes (the gradient penalty's interpolates, values in [0, 1]) a bin's
    count ``c`` is the sum of its values and its share of feature ``k`` is
    the linear interpolation ``max(0, 1 - |c - k|)`` (``C``: ``clip(c - C + 1,
    0, 1)``), so the features are exact on spikes and continuous between.

    The gradient is the one a spike train asks for: at spikes, the derivative
    with respect to ``x[n, t]`` is the change in the features that flipping
    that one spike makes (``e[c + 1] - e[c]`` for a silent neuron in a bin of
    ``c`` spikes, ``e[c] - e[c - 1]`` for a spiking one, capped at ``C``: the
    derivative of the multilinear, Poisson-binomial extension of the
    histogram), interpolated linearly in ``c - x[n, t]`` between spikes. The
    piecewise-linear features alone would give every neuron of a bin the same
    one-sided difference (none at all for the silent bins' neurons). The
    gradient is itself differentiable in the features' weights, as the
    gradient penalty needs. Cost: a sum over neurons and ``(batch, N, T)``
    gathers, about that of one convolution.

    Parameters
    ----------
    max_count : int
        ``C``, at least 1.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[[1, 1, 0, 0], [1, 0, 0, 1], [1, 0, 0, 0]]], "float32")  # counts 3,1,0,1
    >>> CountHistogram(2)(w).numpy().tolist()  # bins with 0, 1, and 2+ spikes
    [[1.0, 2.0, 1.0]]
    >>> CountHistogram(2)(np.full((1, 3, 1), 0.25, "float32")).numpy().tolist()  # count 0.75
    [[0.25, 0.75, 0.0]]
    """

    def __init__(self, max_count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(max_count) < 1:
            raise ValueError(f"`max_count` must be at least 1; received {max_count!r}.")
        self.max_count = int(max_count)

    def call(self, x: Any) -> Any:
        import tensorflow as tf

        cap = self.max_count
        x = tf.cast(x, tf.float32)

        @tf.custom_gradient
        def histogram(x: Any) -> Any:
            count = tf.reduce_sum(x, axis=1)  # (batch, T)
            below = tf.maximum(0.0, 1.0 - tf.abs(count[..., None] - tf.range(cap, dtype=x.dtype)))
            top = tf.clip_by_value(count - (cap - 1), 0.0, 1.0)[..., None]
            hist = tf.reduce_sum(tf.concat([below, top], axis=-1), axis=1)

            def grad(upstream: Any) -> Any:
                # upstream (batch, C + 1): the score's weight on each count; one more
                # spike in a bin of c moves it by step[c] = upstream[c + 1] - upstream[c]
                step = tf.concat([upstream[:, 1:] - upstream[:, :-1],
                                  tf.zeros_like(upstream[:, :1])], axis=-1)
                others = tf.clip_by_value(count[:, None, :] - x, 0.0, float(cap))  # (b, N, T)
                low = tf.floor(others)
                frac = others - low
                low = tf.cast(low, tf.int32)
                high = tf.minimum(low + 1, cap)
                return ((1.0 - frac) * tf.gather(step, low, batch_dims=1)
                        + frac * tf.gather(step, high, batch_dims=1))

            return hist, grad

        return tf.cast(histogram(x), self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        return (input_shape[0], self.max_count + 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_count": self.max_count}


def _neuron_patterns(x: Any, config: ModelConfig, init: Any, dtype: str | None) -> Any:
    """Per-neuron temporal features ``(batch, n_neurons * F)`` of windows ``x``.

    A depthwise Conv1D over time (each neuron alone, ``F`` filters of
    ``critic_neuron_kernel`` bins, ``"valid"``), LeakyReLU, averaged over positions.
    """
    h = layers.Permute((2, 1), dtype=dtype, name="neuron_patterns_in")(x)
    h = layers.DepthwiseConv1D(config.critic_neuron_kernel,
                               depth_multiplier=config.critic_neuron_filters,
                               depthwise_initializer=init(), dtype=dtype,
                               name="neuron_patterns")(h)
    h = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                         name="neuron_patterns_act")(h)
    return layers.GlobalAveragePooling1D(dtype=dtype, name="neuron_patterns_mean")(h)


def _conv_path(h: Any, config: ModelConfig, init: Any, dtype: str | None, prefix: str) -> Any:
    """The paper critic's strided convolutions on ``h (batch, bins, channels)``, flattened."""
    for i, ch in enumerate(config.critic_features):
        h = layers.Conv1D(ch, config.kernel_size, strides=2, padding="same",
                          kernel_initializer=init(), dtype=dtype, name=f"{prefix}conv_{i + 1}")(h)
        h = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                             name=f"{prefix}act_{i + 1}")(h)
    return layers.Flatten(dtype=dtype, name=f"{prefix}flatten")(h)


def build_critic(config: ModelConfig, *, dtype: str | None = None,
                 name: str = "critic", seed: int | None = None) -> keras.Model:
    """Build the critic ``window (batch, n_neurons, n_bins) -> score (batch, 1)``.

    Semi-convolutional: ``num_layers`` Conv1D over time (kernel ``kernel_size``,
    stride 2, ``"same"``, LeakyReLU 0.2, features doubling per layer), flatten,
    Dense(1). Fully connected: ``fc_layers`` LeakyReLU layers of ``num_units``.
    There is no normalisation layer: the gradient penalty needs per-sample
    gradients. With ``config.critic_lags = K > 0`` the score layer also sees
    each neuron's lagged self-coincidences (:func:`lagged_coincidences`), and
    with ``config.critic_neuron_filters = F > 0`` the time-averaged responses of
    ``F`` learnt filters per neuron; with ``config.critic_counts = C > 0`` the
    window's histogram of population counts (:class:`CountHistogram`). With
    ``config.critic_head_units = U > 0`` the score layer also sees a hidden
    layer of ``U`` units on those features, so the score is no longer a sum
    over ``critic_receptive_field``-bin patches.
    With ``config.critic_scales = S > 1`` the convolutions are repeated (own
    weights) on the window averaged over 2, 4, ..., ``2**(S-1)`` bins, and all
    scales' features reach the score.

    Examples
    --------
    >>> import numpy as np
    >>> c = build_critic(ModelConfig(n_neurons=3, n_bins=8, num_features=4))
    >>> tuple(c(np.zeros((2, 3, 8), "float32")).shape)
    (2, 1)
    """
    init = _Inits(config, check_seed(seed))
    x = keras.Input(shape=(config.n_neurons, config.n_bins), name="spikes")
    label, cov = condition_inputs(config)
    if config.architecture == "fc":
        h = layers.Flatten(dtype=dtype, name="flatten")(x)
        if cov is not None:
            h = layers.Concatenate(dtype=dtype, name="with_covariates")(
                [h, layers.Flatten(dtype=dtype, name="covariates_flat")(cov)])
        for i in range(config.fc_layers):
            h = layers.Dense(config.num_units, kernel_initializer=init(), dtype=dtype,
                             name=f"dense_{i + 1}")(h)
            h = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                                 name=f"act_{i + 1}")(h)
    else:
        h = layers.Permute((2, 1), dtype=dtype, name="to_channels")(x)  # (batch, bins, neurons)
        if cov is not None:  # covariates as extra channels beside the neurons
            h = layers.Concatenate(dtype=dtype, name="with_covariates")([h, cov])
        paths = [_conv_path(h, config, init, dtype, "")]
        for s in range(1, config.critic_scales):  # the window averaged over 2**s bins
            pooled = layers.AveragePooling1D(2**s, dtype=dtype, name=f"scale{s}_pool")(h)
            paths.append(_conv_path(pooled, config, init, dtype, f"scale{s}_"))
        h = paths[0] if len(paths) == 1 else layers.Concatenate(
            dtype=dtype, name="with_scales")(paths)
    if config.critic_lags:
        h = layers.Concatenate(dtype=dtype, name="with_lags")(
            [h, lagged_coincidences(x, config.critic_lags, dtype)])
    if config.critic_neuron_filters:
        h = layers.Concatenate(dtype=dtype, name="with_neuron_patterns")(
            [h, _neuron_patterns(x, config, init, dtype)])
    if config.critic_counts:
        h = layers.Concatenate(dtype=dtype, name="with_counts")(
            [h, CountHistogram(config.critic_counts, dtype=dtype, name="count_histogram")(x)])
    if config.critic_head_units:  # the score sees all of the window, not a sum of patches
        hidden = layers.Dense(config.critic_head_units, kernel_initializer=init(), dtype=dtype,
                              name="head")(h)
        hidden = layers.LeakyReLU(negative_slope=config.leaky_slope, dtype=dtype,
                                  name="head_act")(hidden)
        h = layers.Concatenate(dtype=dtype, name="with_head")([h, hidden])
    score = layers.Dense(1, kernel_initializer=init(), dtype="float32", name="score")(h)
    if label is not None:  # projection critic: + <embed(label), phi(x)>
        embedded = layers.Dense(h.shape[-1], use_bias=False, kernel_initializer=init(),
                                dtype="float32", name="label_projection")(label)
        match = layers.Dot(axes=1, dtype="float32", name="label_match")([embedded, h])
        score = layers.Add(dtype="float32", name="projected_score")([score, match])
    return keras.Model(_inputs(x, label, cov), score, name=name)


def critic_path_names(config: ModelConfig) -> list[str]:
    """The paths a critic's score sums, in :func:`critic_paths` order.

    ``"patches"`` (the window's convolutions, with the lag and neuron-filter
    features beside them), ``"scale1"`` ... for each coarser scale,
    ``"counts"`` (the histogram of population counts, ``critic_counts``) and
    ``"head"``.

    Examples
    --------
    >>> critic_path_names(ModelConfig(n_neurons=3, n_bins=16, critic_scales=2,
    ...                               critic_counts=2, critic_head_units=4))
    ['patches', 'scale1', 'counts', 'head']
    """
    scales = 1 if config.architecture == "fc" else config.critic_scales
    names = ["patches"] + [f"scale{s}" for s in range(1, scales)]
    return (names + (["counts"] if config.critic_counts else [])
            + (["head"] if config.critic_head_units else []))


def critic_path_count(config: ModelConfig) -> int:
    """How many paths a critic's score sums: one per scale, the counts and the head.

    Examples
    --------
    >>> critic_path_count(ModelConfig(n_neurons=3, n_bins=16, critic_scales=2,
    ...                               critic_head_units=4))
    3
    """
    return len(critic_path_names(config))


def critic_paths(critic: keras.Model, config: ModelConfig) -> Any:
    """The critic's score split into its paths: ``inputs -> (batch, K)`` terms.

    The score is a linear layer on the concatenated features of every path, so
    it is a sum of one term per path (plus a constant bias): the patches of the
    window itself (with the ``critic_lags`` and ``critic_neuron_filters``
    features beside them), one term per coarser scale (``critic_scales``), the
    histogram of population counts (``critic_counts``), and the head
    (``critic_head_units``), in :func:`critic_path_names` order; with labels,
    each term includes its part of the projection ``<embed(label), features>``. ``K`` is
    :func:`critic_path_count`. The returned callable shares the critic's
    weights; ``TrainConfig.gp_per_path`` penalises each term's gradient.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=3, n_bins=16, num_features=4, critic_head_units=5)
    >>> c = build_critic(cfg, seed=0)
    >>> x = np.random.default_rng(0).random((2, 3, 16)).astype("float32")
    >>> terms = np.asarray(critic_paths(c, cfg)(x))
    >>> terms.shape
    (2, 2)
    >>> bias = float(c.get_layer("score").bias[0])
    >>> bool(np.allclose(terms.sum(1) + bias, np.asarray(c(x))[:, 0], atol=1e-6))
    True
    """
    import tensorflow as tf

    score = critic.get_layer("score")
    features = keras.Model(critic.input, score.input)
    n_features = score.input.shape[-1]
    names = critic_path_names(config)
    k = len(names)
    path_of = np.zeros(n_features, np.int64)  # the path of each feature (scale 0 by default)
    if config.architecture != "fc":
        start = critic.get_layer("flatten").output.shape[-1]
        for s in range(1, config.critic_scales):  # concatenated after scale 0's features
            size = critic.get_layer(f"scale{s}_flatten").output.shape[-1]
            path_of[start:start + size] = s
            start += size
    head = config.critic_head_units
    if head:  # the last features
        path_of[n_features - head:] = names.index("head")
    if config.critic_counts:  # just before the head's
        width = config.critic_counts + 1
        path_of[n_features - head - width:n_features - head] = names.index("counts")
    one_hot = tf.constant(np.eye(k, dtype=np.float32)[path_of])  # (features, K)
    projection = (critic.get_layer("label_projection") if config.n_classes else None)

    def paths(inputs: Any, training: bool = False) -> Any:
        h = tf.cast(features(inputs, training=training), tf.float32)
        w = tf.cast(score.kernel[:, 0], tf.float32)[None, :]
        if projection is not None:  # the label is the critic's second input
            w = w + tf.cast(projection(inputs[1]), tf.float32)
        return tf.matmul(h * w, one_hot)

    return paths
