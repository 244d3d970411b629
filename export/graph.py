"""The generator expressed as the lean graph the exporters convert.

A Keras semi-convolutional generator upsamples time by 2 (nearest-neighbour
repeat, or a stride-2 transposed convolution) and convolves. Converted as
written, that becomes ``Tile``/``Transpose``/``Unsqueeze`` chains around an
ONNX ``Conv`` or ``ConvTranspose`` over the *upsampled* signal, and the
shuffling dominates inference time.

The same function can be computed on the *low-resolution* signal: output
position ``2t + r`` (phase ``r`` in {0, 1}) depends only on input positions
``t + d`` for a few offsets ``d``, with a weight that is a sum of kernel taps
(the polyphase decomposition). So each block becomes::

    Gather the taps of every input position (one op) -> one MatMul with a
    (n_taps * C_in, 2 * C_out) matrix + bias -> LeakyReLU -> Reshape to 2T

which exports to ``Gather``, ``MatMul``/``Add``, ``LeakyRelu`` and free
``Reshape`` nodes that ONNX Runtime fuses into ``FusedGemm``. The first block
gathers its zero padding from an all-zero time step appended to the
projection (zero weights and bias, LeakyReLU(0) = 0), so it needs no ``Pad``.
It is the model's own arithmetic regrouped -- the nearest-neighbour case does
fewer multiplications because the repeated input is never materialised --
and the exporters check parity against the Keras model every time.

Generators that do not have the layer structure of
:func:`spikegan_tf.gan.networks.build_generator` are exported as their Keras call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import (
    draws_in_order,
    history_coupling,
    history_filter,
    history_spikes_tf,
)
from spikegan_tf.gan.positions import position_layer, with_position_offsets

__all__ = [
    "polyphase_taps",
    "polyphase_kernel",
    "GeneratorPlan",
    "plan_generator",
    "float32_generator",
    "probs_function",
    "serving_function",
    "spike_function",
    "condition_specs",
    "condition_names",
]


def polyphase_taps(upsampling: str, kernel_size: int) -> dict[tuple[int, int], list[int]]:
    """Map ``(phase r, offset d)`` to the kernel taps that act on input ``t + d``.

    For ``upsampling="resize"`` the block is nearest-neighbour repeat by 2 then
    a stride-1 ``"same"`` convolution; for ``"transpose"`` it is a stride-2
    ``"same"`` transposed convolution (TensorFlow's padding convention). Output
    position ``2t + r`` equals ``sum_d x[t + d] @ sum(W[k] for k in taps[r, d])``.

    Examples
    --------
    >>> polyphase_taps("resize", 5)
    {(0, -1): [0, 1], (0, 0): [2, 3], (0, 1): [4], (1, -1): [0], (1, 0): [1, 2], (1, 1): [3, 4]}
    """
    taps: dict[tuple[int, int], list[int]] = {}
    if upsampling == "resize":
        before = (kernel_size - 1) // 2  # "same" padding before the signal
        for r in (0, 1):
            for k in range(kernel_size):
                taps.setdefault((r, (r + k - before) // 2), []).append(k)
    elif upsampling == "transpose":
        before = max(kernel_size - 2, 0) // 2
        for r in (0, 1):
            for k in range(kernel_size):
                if (r + before - k) % 2 == 0:
                    taps.setdefault((r, (r + before - k) // 2), []).append(k)
    else:
        raise ValueError(f"unknown upsampling {upsampling!r}")
    return dict(sorted(taps.items()))


def polyphase_kernel(kernel: np.ndarray, upsampling: str) -> tuple[np.ndarray, int, int]:
    """Return ``(W, d_min, d_max)``: the block's weights as one matrix.

    ``kernel`` is a Keras ``Conv1D`` kernel ``(k, C_in, C_out)`` (resize) or
    ``Conv1DTranspose`` kernel ``(k, C_out, C_in)`` (transpose). ``W`` has shape
    ``(n_taps * C_in, 2 * C_out)``: rows are (offset ``d``, input channel),
    columns (phase ``r``, output channel), so a row-major reshape of the
    product ``(B * T, 2 * C_out)`` to ``(B, 2T, C_out)`` interleaves the phases.

    Examples
    --------
    >>> w, lo, hi = polyphase_kernel(np.ones((5, 2, 3), np.float32), "resize")
    >>> w.shape, lo, hi
    ((6, 6), -1, 1)
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if upsampling == "transpose":
        kernel = np.transpose(kernel, (0, 2, 1))
    k, c_in, c_out = kernel.shape
    taps = polyphase_taps(upsampling, k)
    offsets = [d for (_, d) in taps]
    d_min, d_max = min(offsets), max(offsets)
    w = np.zeros((d_max - d_min + 1, c_in, 2, c_out))
    for (r, d), ks in taps.items():
        for tap in ks:
            w[d - d_min, :, r, :] += kernel[tap]
    return w.reshape(-1, 2 * c_out).astype(np.float32), d_min, d_max


@dataclass
class _Block:
    weight: np.ndarray  # (n_taps * C_in, 2 * C_out)
    bias: np.ndarray  # (2 * C_out,)
    d_min: int
    d_max: int
    slope: float | None  # LeakyReLU slope, None for the last (sigmoid) block


@dataclass
class GeneratorPlan:
    """Weights of a semi-convolutional generator regrouped for the lean graph."""

    n_neurons: int
    n_bins: int
    latent_dim: int
    bins0: int
    channels0: int
    project_weight: np.ndarray  # (latent, (bins0 + 1) * channels0): a zero time step appended
    project_bias: np.ndarray
    project_slope: float
    blocks: list[_Block] = field(default_factory=list)
    position_bias: np.ndarray | None = None  # (n_bins, n_neurons) logit offsets, if calibrated
    history: np.ndarray | None = None  # (n_neurons, lags) spike-history filter, if any
    coupling: np.ndarray | None = None  # (N, N) lag-1 coupling, or (2, N, N) same-bin and lag-1


def _weights(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]


def plan_generator(generator: Any, config: ModelConfig) -> GeneratorPlan | None:
    """Regroup a :func:`~spikegan_tf.gan.networks.build_generator` conv generator's weights.

    Returns ``None`` for the ``fc`` architecture (already a plain chain of
    matrix products) and for models without the expected layers; those are
    exported as their Keras call.
    """
    from keras import layers

    if config.architecture != "conv" or config.conditional or config.output_kernel:
        return None
    try:
        project = generator.get_layer("project")
        project_act = generator.get_layer("project_act")
        convs, acts = [], []
        for i in range(1, config.num_layers + 1):
            name = f"conv_{i}" if config.upsampling == "resize" else f"deconv_{i}"
            convs.append(generator.get_layer(name))
            acts.append(generator.get_layer(f"act_{i}") if i < config.num_layers else None)
            if config.upsampling == "resize":
                up = generator.get_layer(f"up_{i}")
                if not isinstance(up, layers.UpSampling1D) or up.size != 2:
                    return None
        generator.get_layer("sigmoid")
    except ValueError:  # a layer is missing: not a build_generator model
        return None
    expected = layers.Conv1D if config.upsampling == "resize" else layers.Conv1DTranspose
    stride = 1 if config.upsampling == "resize" else 2
    for conv in convs:
        if (type(conv) is not expected or conv.padding != "same" or not conv.use_bias
                or tuple(conv.strides) != (stride,) or tuple(conv.dilation_rate) != (1,)
                or conv.activation.__name__ != "linear"):
            return None
    if not isinstance(project_act, layers.LeakyReLU):
        return None
    if any(a is not None and not isinstance(a, layers.LeakyReLU) for a in acts):
        return None
    position, position_bias = position_layer(generator), None
    history = history_filter(generator)
    coupling = history_coupling(generator)
    if position is not None:  # fed an exact zero: the offset is the bias alone
        kernel, bias = _weights(position)
        try:
            (zero,) = _weights(generator.get_layer("position_zero"))
        except ValueError:
            return None
        if np.any(kernel != 0) or np.any(zero != 0):
            return None
        if history is not None:  # its chain must add an exact zero too
            (back,) = _weights(generator.get_layer("history_zero"))
            if np.any(back != 0):
                return None
        if coupling is not None:
            (back,) = _weights(generator.get_layer("coupling_zero"))
            if np.any(back != 0):
                return None
        position_bias = bias.reshape(config.n_bins, config.n_neurons)

    wd, bd = _weights(project)
    bins0 = config.n_bins // 2**config.num_layers
    channels0 = wd.shape[1] // bins0
    plan = GeneratorPlan(
        n_neurons=config.n_neurons,
        n_bins=config.n_bins,
        latent_dim=wd.shape[0],
        bins0=bins0,
        channels0=channels0,
        project_weight=np.concatenate([wd, np.zeros((wd.shape[0], channels0), np.float32)], 1),
        project_bias=np.concatenate([bd, np.zeros(channels0, np.float32)]),
        project_slope=float(project_act.negative_slope),
        position_bias=position_bias,
        history=history,
        coupling=coupling,
    )
    for conv, act in zip(convs, acts, strict=True):
        kernel, bias = _weights(conv)
        weight, d_min, d_max = polyphase_kernel(kernel, config.upsampling)
        plan.blocks.append(_Block(weight, np.tile(bias, 2), d_min, d_max,
                                  None if act is None else float(act.negative_slope)))
    return plan


def float32_generator(generator: Any, config: ModelConfig) -> Any:
    """Return ``generator`` itself if it computes in float32, else a float32 copy.

    A ``mixed_float16`` generator is exported (and its parity checked) as the
    float32 model with the same weights.
    """
    if all(getattr(layer, "compute_dtype", "float32") == "float32" for layer in generator.layers):
        return generator
    from spikegan_tf.gan.networks import build_generator

    clone = build_generator(config, name=generator.name)
    history = history_filter(generator)
    if position_layer(generator) is not None:
        clone = with_position_offsets(clone, config,
                                      history_lags=0 if history is None else history.shape[1],
                                      coupling=history_coupling(generator) is not None,
                                      same_bin=np.ndim(history_coupling(generator)) == 3)
    elif history is not None:  # a temporal generator's filter
        from spikegan_tf.gan.history_fit import with_history_filter

        clone = with_history_filter(clone, config, history.shape[1])
    clone.set_weights([np.asarray(w, np.float32) for w in generator.get_weights()])
    return clone


def _lean_probs(plan: GeneratorPlan, z: Any) -> Any:
    import tensorflow as tf

    h = tf.matmul(z, plan.project_weight) + plan.project_bias
    h = tf.nn.leaky_relu(h, alpha=plan.project_slope)
    bins, channels = plan.bins0, plan.channels0
    h = tf.reshape(h, (-1, bins + 1, channels))  # time step `bins` is all zeros
    for i, block in enumerate(plan.blocks):
        idx = np.arange(bins)[:, None] + np.arange(block.d_min, block.d_max + 1)[None, :]
        if i == 0:
            src = h
            idx = np.where((idx < 0) | (idx >= bins), bins, idx)  # -> the zero time step
        else:
            lo, hi = max(-block.d_min, 0), max(block.d_max, 0)
            src = tf.pad(h, [[0, 0], [lo, hi], [0, 0]])
            idx = idx + lo
        cols = tf.gather(src, idx.astype(np.int32), axis=1)  # (B, T, n_taps, C)
        cols = tf.reshape(cols, (-1, block.weight.shape[0]))
        y = tf.matmul(cols, block.weight) + block.bias
        if block.slope is not None:
            y = tf.nn.leaky_relu(y, alpha=block.slope)
        bins, channels = 2 * bins, block.weight.shape[1] // 2
        h = tf.reshape(y, (-1, bins, channels))
    if plan.position_bias is not None:
        h = h + plan.position_bias
    return tf.transpose(tf.sigmoid(h), (0, 2, 1))  # (B, neurons, bins)


def probs_function(generator: Any, config: ModelConfig, *, lean: bool = True) -> Any:
    """Return a Python callable ``z -> probs`` built from TF ops.

    With ``lean=True`` and a generator :func:`plan_generator` understands, the
    polyphase graph (weights as constants); otherwise the Keras call.
    """
    return _probs_and_variables(generator, config, lean)[0]


def _probs_and_variables(generator: Any, config: ModelConfig, lean: bool) -> tuple[Any, list]:
    plan = plan_generator(generator, config) if lean else None
    if plan is not None:
        return (lambda z: _lean_probs(plan, z)), []
    model = float32_generator(generator, config)
    return (lambda z: model(z, training=False)), [getattr(v, "value", v) for v in model.weights]


def condition_specs(config: ModelConfig) -> list[Any]:
    """``tf.TensorSpec`` of a conditional generator's inputs ``label`` and ``covariates``."""
    import tensorflow as tf

    specs = []
    if config.n_classes:
        specs.append(tf.TensorSpec([None, config.n_classes], tf.float32, name="label"))
    if config.n_covariates:
        specs.append(tf.TensorSpec([None, config.n_bins, config.n_covariates], tf.float32,
                                   name="covariates"))
    return specs


def condition_names(config: ModelConfig) -> list[str]:
    """Names of a generator's condition inputs, in order (``[]`` when unconditional).

    Examples
    --------
    >>> condition_names(ModelConfig(n_neurons=2, n_bins=8, n_classes=3, n_covariates=1))
    ['label', 'covariates']
    """
    return (["label"] if config.n_classes else []) + (
        ["covariates"] if config.n_covariates else [])


def serving_function(generator: Any, config: ModelConfig, *, lean: bool = True) -> Any:
    """Return the ``tf.function`` ``(z, u) -> {"probs", "spikes"}`` of the exports.

    ``z`` is ``(batch, latent_dim)`` float32 standard-normal draws, ``u`` is
    ``(batch, n_neurons, n_bins)`` float32 uniform draws; ``spikes`` is
    ``uint8(u < probs)`` (drawn bin after bin with a spike-history filter,
    :func:`spikegan_tf.gan.history.history_spikes_tf`), both outputs in the
    package layout. Its attribute
    ``captured_variables`` lists the variables it reads (none for the
    polyphase graph, whose weights are constants).

    Examples
    --------
    >>> from spikegan_tf.gan.networks import build_generator
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4)
    >>> fn = serving_function(build_generator(cfg), cfg)
    >>> out = fn(np.zeros((2, 128), np.float32), np.full((2, 3, 8), 0.5, np.float32))
    >>> out["spikes"].dtype.name, tuple(out["probs"].shape)
    ('uint8', (2, 3, 8))
    """
    import tensorflow as tf

    probs_of, variables = _probs_and_variables(generator, config, lean)
    spikes_of = spike_function(generator)
    latent = int(generator.inputs[0].shape[-1])
    signature = [
        tf.TensorSpec([None, latent], tf.float32, name="z"),
        tf.TensorSpec([None, config.n_neurons, config.n_bins], tf.float32, name="u"),
        *condition_specs(config),
    ]

    if config.conditional:  # named condition inputs after z and u
        @tf.function(input_signature=signature)
        def serve(z, u, *conditions):
            probs = tf.cast(probs_of([z, *conditions]), tf.float32)
            return {"probs": probs, "spikes": spikes_of(probs, u)}
    else:
        @tf.function(input_signature=signature)
        def serve(z, u):
            probs = tf.cast(probs_of(z), tf.float32)
            return {"probs": probs, "spikes": spikes_of(probs, u)}

    serve.captured_variables = variables  # what a SavedModel holding `serve` must track
    return serve


def spike_function(generator: Any) -> Any:
    """``(probs, u) -> uint8 spikes`` in TF ops: ``u < probs``, or bin after bin with a filter."""
    import tensorflow as tf

    history = history_filter(generator)
    coupling = history_coupling(generator)
    if not draws_in_order(history, coupling):
        return lambda probs, u: tf.cast(u < probs, tf.uint8)
    return lambda probs, u: history_spikes_tf(probs, u, history, coupling)
