"""Wasserstein GAN losses with gradient penalty (WGAN-GP), as pure tensor functions.

The critic ``D`` maximises ``E[D(real)] - E[D(fake)]`` under a soft 1-Lipschitz
constraint: the gradient penalty ``gp_weight * E[(||grad D(x_hat)|| - 1)^2]``
at points ``x_hat = real + alpha * (fake - real)`` interpolated with one
uniform weight ``alpha ~ U[0, 1)`` per sample (Gulrajani et al. 2017, as in the
Spike-GAN reference code). The generator minimises ``-E[D(fake)]``.

Every mean takes an optional ``global_batch_size``: under ``tf.distribute``
each replica sums its own samples and divides by the *global* batch size, so
that the all-reduced (summed) gradients equal the single-device gradients of
the global batch. Without it the functions take plain means.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = [
    "batch_mean",
    "critic_loss",
    "generator_loss",
    "interpolation_weights",
    "interpolate",
    "gradient_penalty_from_gradients",
    "gradient_penalty",
    "critic_objective",
    "critic_view",
    "count_match_terms",
    "variance_match_terms",
    "acg_match_terms",
    "pair_match_terms",
]


def batch_mean(values: Any, global_batch_size: int | None = None) -> tf.Tensor:
    """Mean of per-sample ``values`` (float32), or their sum / ``global_batch_size``.

    Examples
    --------
    >>> float(batch_mean([1.0, 2.0, 3.0]))
    2.0
    >>> float(batch_mean([1.0, 2.0, 3.0], global_batch_size=6))
    1.0
    """
    values = tf.cast(tf.convert_to_tensor(values), tf.float32)
    if global_batch_size is None:
        return tf.reduce_mean(values)
    return tf.reduce_sum(values) / tf.cast(global_batch_size, tf.float32)


def critic_loss(real_scores: Any, fake_scores: Any,
                global_batch_size: int | None = None) -> tf.Tensor:
    """Critic's Wasserstein loss ``mean(D(fake)) - mean(D(real))`` (to be minimised).

    Its negative is the critic's estimate of the Wasserstein distance.

    Examples
    --------
    >>> float(critic_loss([1.0, 3.0], [0.5, -0.5]))
    -2.0
    """
    return batch_mean(fake_scores, global_batch_size) - batch_mean(real_scores, global_batch_size)


def generator_loss(fake_scores: Any, global_batch_size: int | None = None) -> tf.Tensor:
    """Generator's loss ``-mean(D(fake))`` (to be minimised).

    Examples
    --------
    >>> float(generator_loss([0.5, 1.5]))
    -1.0
    """
    return -batch_mean(fake_scores, global_batch_size)


def critic_view(probabilities: Any, uniforms: Any) -> tf.Tensor:
    """Spikes ``u < p`` in the forward pass, with the gradient of ``p`` (straight-through).

    Real windows are binary, so a critic that sees the generator's
    *probabilities* can tell them apart by their values alone, and the
    generator is paid for pushing every uncertain bin towards 0 (a rate
    deficit that never changes sign). Fed Bernoulli draws instead, the critic
    judges windows of the same kind for both; the straight-through estimator
    (Bengio et al. 2013) passes the critic's gradient to ``p`` unchanged, so
    the generator still learns. ``uniforms`` are ``U[0, 1)`` draws of the same
    shape (from the trainer's generator, so training stays seeded).

    Examples
    --------
    >>> p = tf.constant([0.2, 0.7])
    >>> u = tf.constant([0.5, 0.5])
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(p)
    ...     x = critic_view(p, u)
    ...     y = tf.reduce_sum(x * [2.0, 3.0])
    >>> x.numpy().tolist(), tape.gradient(y, p).numpy().tolist()
    ([0.0, 1.0], [2.0, 3.0])
    """
    p = tf.cast(probabilities, tf.float32)
    spikes = tf.cast(tf.cast(uniforms, tf.float32) < p, tf.float32)
    return p + tf.stop_gradient(spikes - p)


def interpolation_weights(rng: tf.random.Generator, batch_size: int, rank: int = 3,
                          dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Draw one uniform weight in ``[0, 1)`` per sample, shaped ``(batch, 1, ..., 1)``.

    Parameters
    ----------
    rng : tf.random.Generator
        The trainer's generator (its state advances).
    batch_size : int
        Number of samples.
    rank : int
        Rank of the samples' batch (3 for windows), so the weights broadcast.

    Examples
    --------
    >>> w = interpolation_weights(tf.random.Generator.from_seed(0), 4)
    >>> w.shape
    TensorShape([4, 1, 1])
    """
    return rng.uniform((batch_size,) + (1,) * (rank - 1), 0.0, 1.0, dtype=dtype)


def interpolate(real: Any, fake: Any, alpha: Any) -> tf.Tensor:
    """Return ``real + alpha * (fake - real)`` (float32).

    Examples
    --------
    >>> float(interpolate([0.0], [1.0], [0.25])[0])
    0.25
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    return real + tf.cast(alpha, tf.float32) * (fake - real)


def gradient_penalty_from_gradients(gradients: Any, gp_weight: float = 10.0,
                                    global_batch_size: int | None = None) -> tf.Tensor:
    """``gp_weight * mean((||g_i|| - 1)^2)`` over samples ``i``; norms over all other axes.

    Examples
    --------
    >>> g = [[3.0, 4.0], [0.0, 1.0]]   # norms 5 and 1
    >>> float(gradient_penalty_from_gradients(g, gp_weight=10.0))
    80.0
    """
    g = tf.cast(tf.convert_to_tensor(gradients), tf.float32)
    axes = tf.range(1, tf.rank(g))
    # a tiny epsilon keeps the norm's gradient finite where the gradient vanishes
    norms = tf.sqrt(tf.reduce_sum(tf.square(g), axis=axes) + 1e-12)
    return gp_weight * batch_mean(tf.square(norms - 1.0), global_batch_size)


def gradient_penalty(critic: Any, real: Any, fake: Any, alpha: Any, gp_weight: float = 10.0,
                     global_batch_size: int | None = None) -> tf.Tensor:
    """Gradient penalty of ``critic`` at the interpolates of ``real`` and ``fake``.

    Parameters
    ----------
    critic : callable
        Maps a batch of windows to scores ``(batch, 1)``.
    real, fake : tensor
        Batches of the same shape.
    alpha : tensor
        Interpolation weights broadcastable to ``real`` (one per sample), e.g.
        from :func:`interpolation_weights`.
    gp_weight : float
        The penalty's weight (10 in the paper).
    global_batch_size : int, optional
        See the module docstring.

    Examples
    --------
    A linear critic ``<w, x>`` has gradient ``w`` everywhere:

    >>> import numpy as np
    >>> w = tf.constant([[3.0], [4.0]])
    >>> critic = lambda x: tf.matmul(x, w)
    >>> x = np.zeros((2, 2), "float32")
    >>> float(gradient_penalty(critic, x, x + 1, tf.fill((2, 1), 0.5)))  # 10 * (5 - 1)^2
    160.0
    """
    x_hat = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        total = tf.reduce_sum(tf.cast(critic(x_hat), tf.float32))
    grads = tape.gradient(total, x_hat)
    return gradient_penalty_from_gradients(grads, gp_weight, global_batch_size)


def critic_objective(critic: Any, real: Any, fake: Any, alpha: Any, gp_weight: float = 10.0,
                     global_batch_size: int | None = None,
                     training: bool = True,
                     condition: Any = None,
                     paths: Any = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The critic's WGAN-GP objective: ``critic_loss + gradient_penalty``.

    A ``gp_weight`` of (Python) 0 skips the penalty's passes altogether (the
    lazy penalty's updates without it, ``TrainConfig.gp_every``).

    ``real`` and ``fake`` go through the critic as one batch of ``2 b`` (the
    critic has no batch-coupled layers), which saves kernel launches; the
    interpolates go separately, so that the penalty's input gradient (and its
    second-order backward) covers only the ``b`` interpolates. Differentiate
    the returned total under an outer ``GradientTape`` to train the critic.

    ``condition`` (conditional critics): the list of condition inputs shared
    by ``real[i]`` and ``fake[i]`` (the fakes are generated for the real
    windows' conditions); the critic is called on ``[x, *condition]`` and the
    penalty is the gradient with respect to the windows only, at fixed
    conditions.

    ``paths`` (optional): a callable like the critic (same inputs, ``training``
    keyword) that returns the critic's score split into ``K`` terms ``(batch,
    K)`` (:func:`spikegan_tf.gan.networks.critic_paths`). The penalty is then
    the sum of one penalty per term, each term's input gradient held near norm
    1 on its own (``TrainConfig.gp_per_path``), instead of one on their sum.

    Returns
    -------
    total, wasserstein_loss, penalty : tf.Tensor
        ``total = wasserstein_loss + penalty`` (float32 scalars).

    Examples
    --------
    >>> import numpy as np
    >>> w = tf.constant([[3.0], [4.0]])
    >>> critic = lambda x, training=True: tf.matmul(x, w)
    >>> real, fake = np.zeros((2, 2), "float32"), np.ones((2, 2), "float32")
    >>> [round(float(t), 3) for t in critic_objective(critic, real, fake, tf.fill((2, 1), 0.5))]
    [167.0, 7.0, 160.0]

    The same critic as two paths, ``3 x_1`` and ``4 x_2`` (gradient norms 3 and 4):

    >>> paths = lambda x, training=True: x * tf.constant([[3.0, 4.0]])
    >>> [round(float(t), 3) for t in critic_objective(critic, real, fake, tf.fill((2, 1), 0.5),
    ...                                               paths=paths)]
    [137.0, 7.0, 130.0]
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    n = tf.shape(real)[0]
    cond = list(condition or ())

    def score(x: Any, c: list[Any], fn: Any = critic) -> tf.Tensor:
        return tf.cast(fn([x, *c] if c else x, training=training), tf.float32)

    scores = score(tf.concat([real, fake], axis=0), [tf.concat([c, c], axis=0) for c in cond])
    wasserstein = critic_loss(scores[:n], scores[n:], global_batch_size)
    if isinstance(gp_weight, (int, float)) and gp_weight == 0:  # no penalty: skip its passes
        return wasserstein, wasserstein, tf.constant(0.0)
    x_hat = interpolate(real, fake, alpha)
    # one input gradient per path (the whole score is one path)
    with tf.GradientTape(persistent=paths is not None) as tape:
        tape.watch(x_hat)
        terms = score(x_hat, cond, critic if paths is None else paths)  # (batch, K)
        totals = tf.unstack(tf.reduce_sum(terms, axis=0))
    penalty = tf.add_n([gradient_penalty_from_gradients(tape.gradient(t, x_hat), gp_weight,
                                                        global_batch_size) for t in totals])
    del tape
    return wasserstein + penalty, wasserstein, penalty


def _batch_halves(batch: Any, offset: Any) -> tf.Tensor:
    """``(2, batch)`` 0/1 masks of a batch's two halves: the windows of even and of odd index
    in the global batch (``offset``: the global index of this replica's first window).

    Examples
    --------
    >>> _batch_halves(3, offset=1).numpy().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    """
    index = tf.range(batch) + tf.cast(offset, tf.int32)
    in_a = tf.cast(index % 2 == 0, tf.float32)
    return tf.stack([in_a, 1.0 - in_a])


def count_match_terms(histograms: Any, target: Any, n_bins: int,
                      global_batch_size: int | None = None,
                      all_reduce: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Surrogate loss and value of ``||f - t||^2`` (P(K) matching, ``TrainConfig.count_match``).

    ``histograms`` ``(batch, C + 1)`` count each generated window's bins by
    their population count (:class:`spikegan_tf.gan.networks.CountHistogram`);
    ``f`` is their mean over the batch divided by ``n_bins``, the fraction of
    bins in each class, and ``target`` ``(C + 1,)`` the training data's. The
    distance is not a mean over samples, so under ``tf.distribute`` it needs
    the global ``f``: this replica's share ``partial`` is its histograms' sum
    over the global batch size and ``n_bins``, ``all_reduce`` (a callable,
    e.g. the replica context's sum) adds the replicas' shares into ``f``, and
    the surrogate ``2 sum_k stop_gradient(f_k - t_k) partial_k`` has
    gradients that, summed over the replicas, are exactly those of the
    distance. ``all_reduce=None``: this replica's share is the whole batch.

    Returns
    -------
    surrogate, distance : tf.Tensor
        Differentiate ``surrogate``; ``distance`` (no gradient) is ``||f - t||^2``.

    Examples
    --------
    >>> h = tf.constant([[2.0, 2.0], [4.0, 0.0]])  # two windows of 4 bins
    >>> surrogate, distance = count_match_terms(h, [0.5, 0.5], n_bins=4)
    >>> round(float(distance), 4), round(float(surrogate), 4)  # f = [0.75, 0.25]
    (0.125, 0.25)
    """
    histograms = tf.cast(histograms, tf.float32)
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    n = (tf.cast(tf.shape(histograms)[0], tf.float32) if global_batch_size is None
         else tf.cast(global_batch_size, tf.float32))
    partial = tf.reduce_sum(histograms, axis=0) / (n * float(n_bins))
    f = tf.stop_gradient(partial)
    if all_reduce is not None:
        f = all_reduce(f)
    residual = f - target
    return 2.0 * tf.reduce_sum(residual * partial), tf.reduce_sum(tf.square(residual))


def variance_match_terms(totals: Any, target: float, offset: Any = 0,
                         all_reduce: Any = None,
                         relative: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
    """Surrogate loss and value of ``(V_A - v)(V_B - v) / v^2`` (``TrainConfig.variance_match``).

    ``totals`` ``(batch,)`` are the generated windows' population spike counts
    (all neurons, all bins), ``target`` ``v`` the variance of the same over the
    training windows. ``totals`` ``(batch, parts)``: the counts of each window's
    ``parts`` consecutive parts (``TrainConfig.variance_match_scales``), a
    half's variance pooled over all the parts of its windows. The batch is split
    into two halves by the parity of each window's index in the global batch
    (``offset``: the global index of this replica's first window), ``V_A`` and
    ``V_B`` the unbiased sample variances of the halves. The halves are
    independent, so the value is an unbiased estimate of ``((Var - v) / v)^2``,
    ``Var`` the generator's variance: the square of one batch's variance,
    ``(V - v)^2``, would add ``V``'s own sampling variance, which the generator
    lowers by making the totals uniform. Under ``tf.distribute``, ``all_reduce``
    (a callable, e.g. the replica context's sum) adds the replicas' sums of
    ``1, S, S^2`` per half; the surrogate ``sum_h stop_gradient(V_other - v) sum_{i in
    h} 2 stop_gradient(S_i - mean_h) S_i / ((n_h - 1) v^2)`` has gradients that,
    summed over the replicas, are exactly those of the value.

    ``relative=True`` (``TrainConfig.variance_match_relative``): each half's
    variance is divided by its squared mean, ``R_h = V_h / M_h^2`` (the
    squared coefficient of variation, which scaling every rate alike leaves
    nearly unchanged), ``target`` is the training windows' ``v / m^2``, and
    the value is ``(R_A - c)(R_B - c) / c^2``, ``c`` the target; the
    surrogate's weights are then ``dR_h / dS_i = 2 (S_i - M_h) / ((n_h - 1)
    M_h^2) - 2 V_h / (n_h M_h^3)``. A half without a spike adds nothing.

    Returns
    -------
    surrogate, value : tf.Tensor
        Differentiate ``surrogate``; ``value`` (no gradient) may be negative.

    Examples
    --------
    >>> totals = tf.constant([1.0, 2.0, 3.0, 6.0])  # halves [1, 3] and [2, 6]
    >>> surrogate, value = variance_match_terms(totals, 4.0)
    >>> float(value)  # V_A = 2, V_B = 8: (2 - 4) (8 - 4) / 16
    -0.5
    >>> surrogate, value = variance_match_terms(totals, 0.25, relative=True)
    >>> float(value)  # R_A = 2 / 2^2, R_B = 8 / 4^2: (0.5 - 0.25) (0.5 - 0.25) / 0.0625
    1.0
    >>> parts = tf.constant([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [6.0, 0.0]])
    >>> float(variance_match_terms(parts, 4.0)[1])  # halves {1, 0, 3, 0}, {2, 0, 6, 0}: V 2, 8
    -0.5
    """
    totals = tf.cast(totals, tf.float32)
    if totals.shape.rank == 1:
        totals = totals[:, None]
    v = tf.cast(target, tf.float32)
    halves = _batch_halves(tf.shape(totals)[0], offset)[:, :, None] * tf.ones_like(totals)
    s = tf.stop_gradient(totals)
    sums = tf.stack([tf.reduce_sum(halves, (1, 2)), tf.reduce_sum(halves * s, (1, 2)),
                     tf.reduce_sum(halves * s * s, (1, 2))])  # (3, 2): n, sum S, sum S^2
    if all_reduce is not None:
        sums = all_reduce(sums)
    n, s1, s2 = sums[0], sums[1], sums[2]
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1.0)
    # each half's statistic is linear in its totals with the exact weights `slope` (its gradient)
    slope = 2.0 * (s - mean[:, None, None]) / (n - 1.0)[:, None, None]  # of the variance
    statistic = var
    if relative:  # V / M^2; a half without spikes (M = 0) gets 0 rather than NaN
        m2 = (mean * mean)[:, None, None]
        slope = (tf.math.divide_no_nan(slope, m2)
                 - tf.math.divide_no_nan(2.0 * var[:, None, None],
                                         n[:, None, None] * m2 * mean[:, None, None]))
        statistic = tf.math.divide_no_nan(var, mean * mean)
    residual = statistic - v
    linear = tf.reduce_sum(halves * slope * totals, (1, 2))
    surrogate = (residual[1] * linear[0] + residual[0] * linear[1]) / (v * v)
    return surrogate, residual[0] * residual[1] / (v * v)


def window_coincidences(spikes: Any, lags: int, per_spike: bool = False) -> tf.Tensor:
    """Each window's short-lag coincidences ``(batch,)`` (``TrainConfig.acg_variance_match``).

    ``sum_i sum_{l=1..L} sum_t x_i(t) x_i(t + l)`` over a window's neurons and
    in-window pairs of bins, ``spikes`` ``(batch, n_neurons, n_bins)`` (the
    critic's view of generated windows, :func:`critic_view`, whose
    straight-through gradient reaches the probabilities); ``per_spike=True``:
    divided by the window's spike count (0 for a window without spikes), how
    bursty the window is whatever its rate. Their spread over the windows,
    relative to their mean, is matched by ``variance_match_terms(...,
    relative=True)``.

    Examples
    --------
    >>> x = tf.constant([[[1.0, 1.0, 0.0]], [[1.0, 1.0, 1.0]]])
    >>> window_coincidences(x, 2).numpy().tolist()  # lag 1: 1 and 2; lag 2: 0 and 1
    [1.0, 3.0]
    >>> window_coincidences(x, 2, per_spike=True).numpy().tolist()  # over 2 and 3 spikes
    [0.5, 1.0]
    """
    x = tf.cast(spikes, tf.float32)
    pairs = tf.add_n([tf.reduce_sum(x[..., :-lag] * x[..., lag:], axis=(1, 2))
                      for lag in range(1, lags + 1)])
    return tf.math.divide_no_nan(pairs, tf.reduce_sum(x, axis=(1, 2))) if per_spike else pairs


def acg_match_terms(probabilities: Any, target: Any, offset: Any = 0,
                    all_reduce: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Surrogate loss and value of ``sum_l (C_A,l - c_l)(C_B,l - c_l) / (L m^2)`` (``acg_match``).

    ``probabilities`` ``(batch, n_neurons, n_bins)`` are the generator's firing
    probabilities. Given its latent input a window's spikes are independent
    draws, so ``p_i(t) p_i(t + l)`` is the expected coincidence of neuron ``i``
    at lag ``l``, without the draws' noise. ``C_h,l`` is its mean over the
    windows of batch half ``h``, their neurons and their ``n_bins - l`` pairs of
    bins; ``target`` ``c`` ``(L,)`` the same of the training windows' spikes
    at lags ``1..L`` and ``m`` its mean over the lags (one scale for every lag,
    as the autocorrelogram's error has). The halves are the windows of even
    and odd index in the global batch (``offset``: the global index of this
    replica's first window); they are independent, so the value is an
    unbiased estimate of ``sum_l ((E[C_l] - c_l) / m)^2 / L``. Under
    ``tf.distribute``, ``all_reduce`` (a callable, e.g. the replica context's
    sum) adds the replicas' window counts and sums per half; the surrogate
    ``sum_h sum_l stop_gradient(C_other,l - c_l) S_h,l / (n_h L m^2)``, ``S_h,l``
    this replica's sum over its windows of half ``h``, has gradients that,
    summed over the replicas, are exactly those of the value.

    Returns
    -------
    surrogate, value : tf.Tensor
        Differentiate ``surrogate``; ``value`` (no gradient) may be negative.

    Examples
    --------
    >>> p = tf.constant([[[1.0, 1.0, 0.0]], [[0.5, 0.5, 0.5]]])  # two windows of one neuron
    >>> surrogate, value = acg_match_terms(p, [0.25, 0.25])  # lags 1 and 2
    >>> # C_A = [1/2, 0] (window 0), C_B = [1/4, 1/4] (window 1): (1/4 * 0 + -1/4 * 0) / (2 / 16)
    >>> float(value)
    0.0
    >>> round(float(acg_match_terms(p, [0.125, 0.125])[1]), 4)  # (3/8 * 1/8 - 1/8 * 1/8) / (2/64)
    1.0
    """
    p = tf.cast(probabilities, tf.float32)
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    n_lags = int(target.shape[0])
    n_neurons, n_bins = int(p.shape[-2]), int(p.shape[-1])
    # (batch, L): each window's mean coincidence at lags 1..L, all lags at once through the
    # FFT of the zero-padded windows (a loop over lags costs 60 times as much)
    spectrum = tf.signal.rfft(p, fft_length=[2 * n_bins])
    lagged = tf.signal.irfft(spectrum * tf.math.conj(spectrum), fft_length=[2 * n_bins])
    pairs = n_neurons * (n_bins - tf.range(1, n_lags + 1, dtype=tf.float32))
    per_window = tf.reduce_sum(lagged[..., 1:n_lags + 1], axis=1) / pairs
    halves = _batch_halves(tf.shape(per_window)[0], offset)
    shares = tf.matmul(halves, per_window)  # (2, L): this replica's sums per half
    sums = tf.concat([tf.reduce_sum(halves, axis=1, keepdims=True), tf.stop_gradient(shares)],
                     axis=1)  # (2, 1 + L): n_h, sums
    if all_reduce is not None:
        sums = all_reduce(sums)
    n = sums[:, :1]
    residual = sums[:, 1:] / n - target[None, :]
    scale = float(n_lags) * tf.square(tf.reduce_mean(target))
    value = tf.reduce_sum(residual[0] * residual[1]) / scale
    surrogate = tf.reduce_sum(tf.stop_gradient(residual[::-1]) * shares / n) / scale
    return surrogate, value


def pair_match_terms(probabilities: Any, target: Any, offset: Any = 0,
                     all_reduce: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Surrogate loss and value of the pairs' squared errors over their noise (``pair_match``).

    ``probabilities`` ``(batch, n_neurons, n_bins)`` are the generator's firing
    probabilities; given its latent input the spikes of two neurons are
    independent draws, so ``p_i(t) p_j(t + l)`` (``i != j``) is their expected
    coincidence, without the draws' noise. ``M_h,l,ij`` is its mean over the
    windows of batch half ``h`` and their ``n_bins - l`` pairs of bins, for
    ``l = 0`` (the same bin) and ``l = 1`` (one bin later); ``target`` ``m``
    ``(2, n_neurons, n_neurons)`` the same of the training windows' spikes
    (:func:`spikegan_tf.statistics.pair_coincidences`). The value,
    ``sum (M_A - m)(M_B - m) / m / sum m`` over the ``2 N (N - 1)`` entries
    with ``i != j`` (a neuron with itself is ``acg_match``'s), is an unbiased
    estimate of the squared errors of the expected coincidences, the raw
    moments behind the single-bin and lag-1 covariances, each over its
    coincidences' Poisson variance (``m``, floored at ``1e-3 mean(m)``), so
    that a rare pair's error counts in units of its own noise, as the
    covariances' error over the held-out floor does; with equal ``m`` it is
    the mean squared relative error. Halves, ``offset`` and ``all_reduce`` as
    :func:`acg_match_terms`.

    Returns
    -------
    surrogate, value : tf.Tensor
        Differentiate ``surrogate``; ``value`` (no gradient) may be negative.

    Examples
    --------
    >>> p = tf.constant([[[1.0, 1.0], [1.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]]])  # 2 windows
    >>> # half A (window 0): same bin m01 = m10 = 1/2, one bin later m01 = 0, m10 = 1;
    >>> # half B: every entry 1/4. Against a target of 1/4 everywhere, B's residuals are 0
    >>> float(pair_match_terms(p, tf.fill((2, 2, 2), 0.25))[1])
    0.0
    >>> # against 1/8: residuals A (3/8, 3/8, -1/8, 7/8), B 1/8 each: 12/64 / (1/8) / (4/8)
    >>> float(pair_match_terms(p, tf.fill((2, 2, 2), 0.125))[1])
    3.0
    >>> # lag-1 targets 1/16: residuals A -1/16, 15/16, B 3/16, each over 1/16 (same bin: 1/8);
    >>> # (2 * 3/8 * 1/8) * 8 + (-1/16 * 3/16 + 15/16 * 3/16) * 16 = 27/8, over sum m = 3/8
    >>> target = tf.constant([[[0.125, 0.125]] * 2, [[0.0625, 0.0625]] * 2])
    >>> float(pair_match_terms(p, target)[1])
    9.0
    """
    p = tf.cast(probabilities, tf.float32)
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    n_neurons, n_bins = int(p.shape[-2]), int(p.shape[-1])
    same = tf.linalg.matmul(p, p, transpose_b=True) / float(n_bins)
    later = tf.linalg.matmul(p[..., :-1], p[..., 1:], transpose_b=True) / float(n_bins - 1)
    per_window = tf.reshape(tf.stack([same, later], axis=1), (-1, 2 * n_neurons * n_neurons))
    halves = _batch_halves(tf.shape(per_window)[0], offset)
    shares = tf.matmul(halves, per_window)  # (2, 2 N^2): this replica's sums per half
    sums = tf.concat([tf.reduce_sum(halves, axis=1, keepdims=True), tf.stop_gradient(shares)],
                     axis=1)
    if all_reduce is not None:
        sums = all_reduce(sums)
    n = sums[:, :1]
    cross = tf.reshape(tf.tile(1.0 - tf.eye(n_neurons), (2, 1)), (1, -1))  # i != j
    flat = tf.reshape(target, (1, -1))
    total = tf.reduce_sum(flat * cross)
    count = float(2 * n_neurons * (n_neurons - 1))
    weight = cross / tf.maximum(flat, 1e-3 * total / count) / total
    residual = sums[:, 1:] / n - flat
    value = tf.reduce_sum(residual[0] * residual[1] * weight)
    surrogate = tf.reduce_sum(tf.stop_gradient(residual[::-1] * weight) * shares / n)
    return surrogate, value
