"""One Trainer iteration equals a textbook WGAN-GP step, weight for weight.

The oracle is written from the formulas (Gulrajani et al. 2017; the critic
fed Bernoulli spikes with a straight-through gradient when
``critic_input="spikes"``), with plain Keras calls and separate critic calls
for real, fake and interpolated windows, fed the same real windows, ``z``,
interpolation weights and uniforms as the trainer (drawn from a copy of its
random generator, in its order). It shares no code with the trainer's step.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_critic, build_generator
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=6)


def textbook_step(trainer: Trainer, windows: np.ndarray, rng: tf.random.Generator,
                  opts: tuple, iteration: int = 0, mc: ModelConfig = MODEL) -> None:
    """Apply one WGAN-GP generator iteration to copies of the trainer's networks (in place).

    ``opts``: the oracle's (critic, generator) Adam optimizers, kept across iterations.
    ``iteration``: the run's iteration index; with ``gp_every = m`` the penalty (``m`` times its
    weight) applies to the run's critic updates ``0, m, 2m, ...`` only. With ``gp_per_path``
    (a headed critic ``mc``) one penalty on the gradient of each part of the linear score:
    the conv features' and the head's.
    """
    cfg = trainer.config
    k, b = cfg.n_critic, cfg.batch_size
    idx = rng.uniform((k * b,), 0, len(windows), dtype=tf.int64).numpy()
    real = windows[idx].astype("float32").reshape(k, b, mc.n_neurons, mc.n_bins)
    z_critic = rng.normal((k, b, mc.latent_dim))
    alpha = rng.uniform((k, b, 1, 1))
    z_gen = rng.normal((b, mc.latent_dim))
    spikes = cfg.critic_input == "spikes"
    if spikes:
        u_critic = rng.uniform((k, b, mc.n_neurons, mc.n_bins))
        u_gen = rng.uniform((b, mc.n_neurons, mc.n_bins))
    G, D = trainer.oracle_generator, trainer.oracle_critic
    opt_d, opt_g = opts
    fakes = [G(z_critic[i]) for i in range(k)]  # G is fixed during the critic updates
    for i in range(k):
        fake = tf.cast(u_critic[i] < fakes[i], tf.float32) if spikes else fakes[i]
        with tf.GradientTape() as tape:
            x_hat = real[i] + alpha[i] * (fake - real[i])
            with tf.GradientTape(persistent=True) as inner:
                inner.watch(x_hat)
                if cfg.gp_per_path:
                    u = mc.critic_head_units
                    h = tf.keras.Model(D.input, D.get_layer("score").input)(x_hat)
                    w = D.get_layer("score").kernel
                    parts = [tf.reduce_sum(h[:, :-u] @ w[:-u]), tf.reduce_sum(h[:, -u:] @ w[-u:])]
                else:
                    parts = [tf.reduce_sum(D(x_hat))]
            gp = 0.0
            for part in parts:
                g = inner.gradient(part, x_hat)
                norm = tf.sqrt(tf.reduce_sum(g * g, axis=[1, 2]))
                gp = gp + cfg.gp_weight * tf.reduce_mean((norm - 1.0) ** 2)
            gp = gp * cfg.gp_every if (iteration * k + i) % cfg.gp_every == 0 else 0.0
            loss = tf.reduce_mean(D(fake)) - tf.reduce_mean(D(real[i])) + gp
        opt_d.apply_gradients(zip(tape.gradient(loss, D.trainable_variables),
                                  D.trainable_variables, strict=True))
    with tf.GradientTape() as tape:
        p = G(z_gen)
        x = p + tf.stop_gradient(tf.cast(u_gen < p, tf.float32) - p) if spikes else p
        g_loss = -tf.reduce_mean(D(x))
        if cfg.count_match:
            g_loss += cfg.count_match * count_term(x, windows, cfg.count_match_max)
        if cfg.variance_match:
            g_loss += cfg.variance_match * variance_term(x, windows, cfg.variance_match_relative,
                                                         cfg.variance_match_scales)
        if cfg.acg_match:
            g_loss += cfg.acg_match * acg_term(p, windows, cfg.acg_match_lags)
        if cfg.acg_variance_match:
            g_loss += cfg.acg_variance_match * acg_variance_term(
                x, windows, cfg.acg_variance_match_lags)
        if cfg.pair_match:
            g_loss += cfg.pair_match * pair_term(p, windows)
    opt_g.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables),
                              G.trainable_variables, strict=True))


def count_term(x: tf.Tensor, windows: np.ndarray, cap: int) -> tf.Tensor:
    """A surrogate with the value and the gradient of ``||f - t||^2`` (``count_match``).

    ``f_k``: the fraction of the batch's bins with ``k`` spikes (``cap``: ``cap`` or more);
    ``t``: the same over all training ``windows``. The gradient at a spike is
    ``2 (f - t) . d``, ``d`` what flipping that spike does to ``f``, by explicit loops.
    """
    spikes = np.round(x.numpy()).astype(int)  # (b, N, T)
    b, n_neurons, n_bins = spikes.shape
    classes = np.arange(cap + 1)
    target = np.mean([np.minimum(c, cap) == classes for c in windows.sum(axis=1).ravel()], 0)
    counts = spikes.sum(axis=1)  # (b, T)
    f = np.mean([np.minimum(c, cap) == classes for c in counts.ravel()], axis=0)
    r = f - target
    grad = np.zeros(spikes.shape)
    for i, n, t in np.ndindex(spikes.shape):
        others = counts[i, t] - spikes[i, n, t]
        grad[i, n, t] = 2 * (r[min(others + 1, cap)] - r[min(others, cap)]) / (b * n_bins)
    value = float(np.sum(r ** 2))
    return value + tf.reduce_sum(tf.constant(grad, tf.float32) * (x - tf.stop_gradient(x)))


def variance_term(x: tf.Tensor, windows: np.ndarray, relative: bool = False,
                  scales: int = 1) -> tf.Tensor:
    """``(V_A - v)(V_B - v) / v^2`` (``variance_match``), differentiated by the tape itself.

    ``V_A``, ``V_B``: unbiased variances of the population counts of the batch's even and odd
    windows; ``v``: the variance of the training windows' counts. ``relative``: each variance
    over its squared mean count (``variance_match_relative``). ``scales``: the mean of the term
    over the windows cut into 1, 2, 4, ... parts, a half's variance pooled over its windows'
    parts, ``v`` the expected value of that on halves of training windows drawn at random:
    ``(N E[x^2] - E[(sum x)^2] / N) / (N - 1)``, ``N`` parts per half, with ``E[(sum x)^2] =
    n Var(window count) + (N mean)^2`` for ``n`` independent windows per half.
    """
    b, n_neurons, n_bins = x.shape
    n = b // 2
    total = 0.0
    for j in range(scales):
        m = 2**j
        train = windows.reshape(len(windows), n_neurons, m, n_bins // m).sum(axis=(1, 3))
        big_n = n * m
        mean = train.mean()
        square_sum = n * train.sum(axis=1).var() + (big_n * mean) ** 2
        v = (big_n * (train.astype(float) ** 2).mean() - square_sum / big_n) / (big_n - 1)
        v = v / mean ** 2 if relative else v
        parts = tf.reduce_sum(tf.reshape(x, (b, n_neurons, m, n_bins // m)), axis=(1, 3))

        def var(s: tf.Tensor) -> tf.Tensor:
            s = tf.reshape(s, (-1,))
            mu = tf.reduce_mean(s)
            scale = mu * mu if relative else 1.0
            return tf.reduce_sum((s - mu) ** 2) / (float(s.shape[0]) - 1.0) / scale

        total += (var(parts[0::2]) - v) * (var(parts[1::2]) - v) / v ** 2
    return total / scales


def acg_target(windows: np.ndarray, lags: int) -> np.ndarray:
    """The mean of ``x_i(t) x_i(t + l)`` over windows, neurons and in-window pairs, by loops."""
    n, n_neurons, n_bins = windows.shape
    out = np.zeros(lags)
    for lag in range(1, lags + 1):
        total = sum(int(windows[w, i, t]) * int(windows[w, i, t + lag])
                    for w in range(n) for i in range(n_neurons) for t in range(n_bins - lag))
        out[lag - 1] = total / (n * n_neurons * (n_bins - lag))
    return out


def acg_term(p: tf.Tensor, windows: np.ndarray, lags: int) -> tf.Tensor:
    """``sum_l (C_A,l - c_l)(C_B,l - c_l) / (L mean(c)^2)`` (``acg_match``), by the tape.

    ``C_h,l``: the mean of ``p_i(t) p_i(t + l)`` over the batch's even (A) or odd (B) windows,
    their neurons and in-window pairs; ``c``: :func:`acg_target` of the training windows.
    """
    c = acg_target(windows, lags)
    total = 0.0
    for lag in range(1, lags + 1):
        prod = p[:, :, :-lag] * p[:, :, lag:]
        total += ((tf.reduce_mean(prod[0::2]) - c[lag - 1])
                  * (tf.reduce_mean(prod[1::2]) - c[lag - 1]))
    return total / (lags * c.mean() ** 2)


def coincidences_by_loops(windows: np.ndarray, lags: int) -> np.ndarray:
    """Each window's ``sum_i sum_{l=1..L} sum_t x_i(t) x_i(t + l)`` over its spike count (0
    without spikes), by loops."""
    n, n_neurons, n_bins = windows.shape
    pairs = np.array([sum(int(windows[w, i, t]) * int(windows[w, i, t + lag])
                          for lag in range(1, lags + 1) for i in range(n_neurons)
                          for t in range(n_bins - lag)) for w in range(n)], float)
    spikes = np.array([int(windows[w].sum()) for w in range(n)], float)
    return np.array([p / k if k else 0.0 for p, k in zip(pairs, spikes, strict=True)])


def acg_variance_term(x: tf.Tensor, windows: np.ndarray, lags: int) -> tf.Tensor:
    """``(R_A - r)(R_B - r) / r^2`` (``acg_variance_match``), by the tape.

    ``R_h``: the unbiased variance over the squared mean of the coincidences per spike of the
    batch's even (A) or odd (B) windows; ``r``: the variance over the squared mean of the
    training windows' (:func:`coincidences_by_loops`).
    """
    train = coincidences_by_loops(windows, lags)
    r = train.var() / train.mean() ** 2
    b, n_neurons, n_bins = x.shape
    c = tf.stack([tf.add_n([tf.reduce_sum(x[j, :, :-lag] * x[j, :, lag:])
                            for lag in range(1, lags + 1)]) / tf.reduce_sum(x[j])
                  for j in range(b)])

    def rel(s: tf.Tensor) -> tf.Tensor:
        mu = tf.reduce_mean(s)
        return tf.reduce_sum((s - mu) ** 2) / (float(s.shape[0]) - 1.0) / (mu * mu)

    return (rel(c[0::2]) - r) * (rel(c[1::2]) - r) / r ** 2


def pair_target(windows: np.ndarray) -> np.ndarray:
    """``[l, i, j]``: the mean of ``x_i(t) x_j(t + l)``, ``l = 0, 1``, over windows and in-window
    pairs of bins, by loops."""
    n, n_neurons, n_bins = windows.shape
    out = np.zeros((2, n_neurons, n_neurons))
    for lag in (0, 1):
        for i in range(n_neurons):
            for j in range(n_neurons):
                total = sum(int(windows[w, i, t]) * int(windows[w, j, t + lag])
                            for w in range(n) for t in range(n_bins - lag))
                out[lag, i, j] = total / (n * (n_bins - lag))
    return out


def pair_term(p: tf.Tensor, windows: np.ndarray, target: np.ndarray | None = None) -> tf.Tensor:
    """``sum_{l, i != j} (M_A - m)(M_B - m) / m / sum m`` (``pair_match``), by the tape.

    ``M_h[l, i, j]``: the mean of ``p_i(t) p_j(t + l)`` over the batch's even (A) or odd (B)
    windows and in-window pairs of bins; ``m``: :func:`pair_target` of the training windows
    (or ``target``), floored at ``1e-3`` of its mean in the division.
    """
    m = pair_target(windows) if target is None else target
    n_neurons = m.shape[-1]
    cross = ~np.eye(n_neurons, dtype=bool)
    floor = 1e-3 * m[:, cross].mean()
    total = 0.0
    for lag in (0, 1):
        for i in range(n_neurons):
            for j in range(n_neurons):
                if i == j:
                    continue
                prod = p[:, i, :p.shape[-1] - lag] * p[:, j, lag:]
                total += ((tf.reduce_mean(prod[0::2]) - m[lag, i, j])
                          * (tf.reduce_mean(prod[1::2]) - m[lag, i, j])
                          / max(m[lag, i, j], floor))
    return total / m[:, cross].sum()


def trainer_and_oracle(mc: ModelConfig, cfg: TrainConfig) -> tuple[Trainer, tf.random.Generator,
                                                                    tuple]:
    """A trainer with oracle copies of its networks, a copy of its random generator, and the
    oracle's (critic, generator) Adam optimizers."""
    trainer = Trainer(mc, cfg, verbose=0)
    trainer.oracle_generator, trainer.oracle_critic = build_generator(mc), build_critic(mc)
    trainer.oracle_generator.set_weights(trainer.generator.get_weights())
    trainer.oracle_critic.set_weights(trainer.critic.get_weights())
    rng = tf.random.Generator.from_state(trainer.rng.state.numpy(), trainer.rng.algorithm)
    d_lr = cfg.critic_learning_rate or cfg.learning_rate
    opts = (tf.keras.optimizers.Adam(d_lr, beta_1=cfg.beta_1, beta_2=cfg.beta_2),
            tf.keras.optimizers.Adam(cfg.learning_rate, beta_1=cfg.beta_1, beta_2=cfg.beta_2))
    return trainer, rng, opts


@pytest.mark.parametrize("critic_input,n_critic,gp_weight,lazy", [
    ("spikes", 2, 10.0, {}), ("probabilities", 3, 4.0, {}),
    # a lazy penalty (every 2nd critic update of the run, twice the weight: updates 0, 2, 4 of
    # two iterations of 3) and a two-time-scale rate (the critic's 3e-4, the generator's 1e-4)
    ("spikes", 3, 10.0, {"gp_every": 2, "critic_learning_rate": 3e-4, "learning_rate": 1e-4})])
def test_iterations_equal_the_textbook_step(critic_input, n_critic, gp_weight, lazy):
    windows = (np.random.default_rng(1).random((40, 3, 8)) < 0.3).astype("uint8")
    cfg = TrainConfig(batch_size=5, n_critic=n_critic, gp_weight=gp_weight, max_steps=1,
                      eval_every=0, critic_input=critic_input, seed=3, **lazy)
    trainer, rng, opts = trainer_and_oracle(MODEL, cfg)
    data = prepare_data(windows, val_fraction=0.0)
    before = [w.copy() for w in trainer.critic.get_weights()]
    iterations = 2 if lazy else 1
    trainer.train_steps(data, iterations)
    for it in range(iterations):
        textbook_step(trainer, data.train.spikes, rng, opts, iteration=it)

    for ours, oracle in ((trainer.generator, trainer.oracle_generator),
                         (trainer.critic, trainer.oracle_critic)):
        for a, b in zip(ours.get_weights(), oracle.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # the step did move the critic (the comparison is not of untouched weights)
    moved = zip(trainer.critic.get_weights(), before, strict=True)
    assert max(np.abs(a - b).max() for a, b in moved) > 1e-4


def test_a_penalty_per_path_equals_the_textbook_step_and_differs_from_one_on_the_sum():
    # weights large enough for input gradients of norm ~1 (at a norm near 0 the penalty's
    # gradient, g / |g|, turns float rounding into differences of direction)
    mc = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=6, critic_head_units=3,
                     init_stddev=0.5)
    windows = (np.random.default_rng(2).random((40, 3, 8)) < 0.3).astype("uint8")
    data = prepare_data(windows, val_fraction=0.0)
    after = {}
    for per_path in (True, False):
        cfg = TrainConfig(batch_size=5, n_critic=2, max_steps=1, eval_every=0, seed=4,
                          gp_per_path=per_path)
        trainer, rng, opts = trainer_and_oracle(mc, cfg)
        trainer.train_steps(data, 1)
        textbook_step(trainer, data.train.spikes, rng, opts, mc=mc)
        for a, b in zip(trainer.critic.get_weights(), trainer.oracle_critic.get_weights(),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # weights ~0.5
        after[per_path] = trainer.critic.get_weights()
    gap = max(np.abs(a - b).max() for a, b in zip(*after.values(), strict=True))
    assert gap > 1e-3


def test_a_penalty_per_path_needs_a_critic_of_several_paths():
    with pytest.raises(ConfigError, match="gp_per_path.*critic_head_units=0, critic_scales=1, critic_counts=0"):
        Trainer(MODEL, TrainConfig(gp_per_path=True), verbose=0)


@pytest.mark.parametrize("term, weight, seed, settings", [
    # count_match_max below and above the 3 neurons' largest count
    ("count_match", 30.0, 5, {"count_match_max": 2}),
    ("count_match", 30.0, 5, {"count_match_max": 5}),
    # halves of 4 and 3 windows. The variance term's gradient on a parameter that moves every
    # window's count alike (the output bias) sums to ~0 over each half, and Adam's first step
    # turns what float rounding leaves of it into +-lr: with data seed 5 one such bias entry
    # flips between the two implementations (the loss's own gradient is checked to rounding in
    # test_the_variance_terms_have_the_gradient_of_their_value)
    ("variance_match", 3.0, 7, {"batch_size": 7}),
    ("variance_match", 3.0, 7, {"batch_size": 7, "variance_match_relative": True}),
    # the windows, their halves and quarters (halves of 3 and 3 windows)
    ("variance_match", 3.0, 7, {"batch_size": 6, "variance_match_scales": 3}),
    ("variance_match", 3.0, 7, {"batch_size": 6, "variance_match_scales": 3,
                                "variance_match_relative": True}),
    # the autocorrelogram on the generator's probabilities (halves of 3 and 2 windows): every
    # lag of the 8-bin windows, and 3 lags with the critic fed probabilities
    ("acg_match", 30.0, 7, {}),
    ("acg_match", 30.0, 7, {"acg_match_lags": 3, "critic_input": "probabilities"}),
    # the spread of the windows' coincidences on the critic's spikes (halves of 3 and 3
    # windows): lags 1..7 (the default for 8-bin windows) and 1..2
    ("acg_variance_match", 3.0, 7, {"batch_size": 6}),
    ("acg_variance_match", 3.0, 7, {"batch_size": 6, "acg_variance_match_lags": 2}),
    # the pairs' coincidences on the generator's probabilities (halves of 3 and 2 windows),
    # whatever the critic is fed
    ("pair_match", 30.0, 7, {}),
    ("pair_match", 30.0, 7, {"critic_input": "probabilities"})])
def test_a_generator_term_equals_the_textbook_step_and_moves_the_generator(term, weight, seed,
                                                                          settings):
    windows = (np.random.default_rng(seed).random((40, 3, 8)) < 0.4).astype("uint8")
    data = prepare_data(windows, val_fraction=0.0)
    after = {}
    for w in (0.0, weight):
        cfg = TrainConfig(**{"batch_size": 5, "n_critic": 2, "max_steps": 1, "eval_every": 0,
                             "seed": seed + 1, term: w, **settings})
        trainer, rng, opts = trainer_and_oracle(MODEL, cfg)
        losses = trainer.train_steps(data, 1)
        textbook_step(trainer, data.train.spikes, rng, opts)
        for a, b in zip(trainer.generator.get_weights(), trainer.oracle_generator.get_weights(),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        after[w] = trainer.generator.get_weights()
        assert (term in losses) == bool(w)
    gap = max(np.abs(a - b).max() for a, b in zip(*after.values(), strict=True))
    assert gap > 1e-4


def on_two_replicas(terms, x: tf.Tensor, *args, **kwargs) -> tuple[tf.Tensor, tf.Tensor]:
    """``terms`` as two replicas compute it, each on half of the windows ``x`` (offsets 0 and
    ``len(x) / 2``), their sums added as ``all_reduce`` does: (sum of the surrogates, value)."""
    half = len(x) // 2
    pieces, offsets = (x[:half], x[half:]), (0, half)
    shares = []
    for part, offset in zip(pieces, offsets, strict=True):
        terms(part, *args, offset=offset, all_reduce=lambda y: shares.append(y) or y, **kwargs)
    results = [terms(part, *args, offset=offset, all_reduce=lambda y: shares[0] + shares[1],
                     **kwargs) for part, offset in zip(pieces, offsets, strict=True)]
    return results[0][0] + results[1][0], results[0][1]


@pytest.mark.parametrize("parts", [(), (3,)])  # whole windows; each window in 3 parts
@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("replicas", [1, 2])
def test_the_variance_terms_have_the_gradient_of_their_value(replicas, relative, parts):
    from spikegan_tf.gan.losses import variance_match_terms

    # halves of 5 windows
    totals = tf.constant(np.random.default_rng(3).poisson(12.0, (10, *parts)), tf.float32)
    v = 0.08 if relative else 9.0

    def statistic(s: tf.Tensor) -> tf.Tensor:  # unbiased variance, over the squared mean
        s = tf.reshape(s, (-1,))
        m, n = tf.reduce_mean(s), float(s.shape[0])
        return tf.math.reduce_variance(s) * n / (n - 1) / (m * m if relative else 1.0)

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(totals)
        value = (statistic(totals[0::2]) - v) * (statistic(totals[1::2]) - v) / v ** 2
        if replicas == 1:
            surrogate, reported = variance_match_terms(totals, v, relative=relative)
        else:
            surrogate, reported = on_two_replicas(variance_match_terms, totals, v,
                                                  relative=relative)
    np.testing.assert_allclose(float(reported), float(value), rtol=1e-5, atol=1e-6)
    grad = tape.gradient(value, totals)
    np.testing.assert_allclose(tape.gradient(surrogate, totals), grad,
                               rtol=1e-5, atol=1e-5 * float(tf.reduce_max(tf.abs(grad))))
    assert float(tf.reduce_max(tf.abs(grad))) > 1e-3


@pytest.mark.parametrize("settings, message", [
    ({"count_match": 1.0, "critic_input": "probabilities"},
     "count_match.*critic_input='probabilities'"),
    ({"variance_match": 1.0, "critic_input": "probabilities"},
     "variance_match.*critic_input='probabilities'"),
    ({"variance_match": 1.0, "batch_size": 3}, "variance_match.*batch_size` >= 4.*batch_size=3")])
def test_the_generator_terms_need_spikes_and_the_variance_two_halves(settings, message):
    with pytest.raises(ConfigError, match=message):
        Trainer(MODEL, TrainConfig(**settings), verbose=0)


@pytest.mark.parametrize("relative", [False, True])
def test_the_variance_targets_are_the_expected_batch_estimates(relative):
    # every ordered pair of the 3 training windows is equally likely as a batch half (batch
    # size 4): the target of each scale is the mean, over the 9 pairs, of the pooled unbiased
    # variance of the pair's parts (over the pooled mean squared, divided by the windows')
    windows = np.zeros((3, 3, 8), np.uint8)
    windows[0, 0, :5] = 1
    windows[1, :, 6:] = 1
    windows[2, 1, ::2] = 1
    config = TrainConfig(batch_size=4, max_steps=1, eval_every=0, variance_match=1.0,
                         variance_match_scales=3, variance_match_relative=relative)
    targets = Trainer(MODEL, config, verbose=0).loss_targets(
        prepare_data(windows, val_fraction=0.0))["variance_match"]
    expected = []
    for m in (1, 2, 4):
        parts = windows.reshape(3, 3, m, 8 // m).sum(axis=(1, 3)).astype(float)
        pooled = [np.var(np.concatenate([parts[a], parts[b]]), ddof=1)
                  for a in range(3) for b in range(3)]
        expected.append(np.mean(pooled) / (parts.mean() ** 2 if relative else 1.0))
    np.testing.assert_allclose(targets, expected, rtol=1e-6)
    assert len(set(np.round(expected, 6))) == 3


def test_the_variance_scales_need_windows_that_divide(tmp_path):
    config = TrainConfig(variance_match=1.0, variance_match_scales=4)  # parts of 8 / 8 bins
    Trainer(MODEL, config, verbose=0)
    message = "variance_match_scales.*divisible by 2\\^\\(scales - 1\\) = 16.*n_bins=8, "
    with pytest.raises(ConfigError, match=message + "variance_match_scales=5"):
        Trainer(MODEL, TrainConfig(variance_match=1.0, variance_match_scales=5), verbose=0)


def test_the_variance_term_refuses_windows_that_all_have_one_count(tmp_path):
    windows = np.zeros((20, 3, 8), np.uint8)
    windows[:, [0, 1, 2], [0, 3, 5]] = 1  # every window: three spikes
    config = TrainConfig(batch_size=4, max_steps=1, eval_every=0, variance_match=1.0)
    data = prepare_data(windows, val_fraction=0.0)
    with pytest.raises(ConfigError, match="variance_match.*every window has the same count"):
        Trainer(MODEL, config, verbose=0).train_steps(data, 1)
    # fit refuses them before it writes the run directory: nothing half-written
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match="every window has the same count"):
        Trainer(MODEL, config, run_dir=run, verbose=0).fit(data)
    assert not run.exists() or not any(run.iterdir())


@pytest.mark.parametrize("term", ["acg_match", "pair_match"])
@pytest.mark.parametrize("replicas", [1, 2])
def test_the_probability_terms_have_the_gradient_of_their_value(replicas, term):
    from spikegan_tf.gan.losses import acg_match_terms, pair_match_terms

    # 10 windows of 4 neurons and 12 bins (halves of 5); acg_match: lags 1..5
    p = tf.constant(np.random.default_rng(4).random((10, 4, 12)) * 0.6, tf.float32)
    if term == "acg_match":
        terms, target = acg_match_terms, np.array([0.05, 0.04, 0.06, 0.03, 0.02])
    else:
        terms, target = pair_match_terms, np.random.default_rng(5).random((2, 4, 4)) * 0.1
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(p)
        value = (sum(
            (tf.reduce_mean(p[0::2, :, :-lag] * p[0::2, :, lag:]) - target[lag - 1])
            * (tf.reduce_mean(p[1::2, :, :-lag] * p[1::2, :, lag:]) - target[lag - 1])
            for lag in range(1, 6)) / (5 * target.mean() ** 2) if term == "acg_match"
            else pair_term(p, None, target))
        surrogate, reported = (terms(p, target) if replicas == 1 else
                               on_two_replicas(terms, p, target))
    np.testing.assert_allclose(float(reported), float(value), rtol=1e-5, atol=1e-6)
    grad = tape.gradient(value, p)
    np.testing.assert_allclose(tape.gradient(surrogate, p), grad,
                               rtol=1e-5, atol=1e-5 * float(tf.reduce_max(tf.abs(grad))))
    assert float(tf.reduce_max(tf.abs(grad))) > 1e-3


def coincidence_spread(windows: np.ndarray, lags: int) -> float:
    """The squared coefficient of variation of :func:`coincidences_by_loops`."""
    c = coincidences_by_loops(windows, lags)
    return c.var() / c.mean() ** 2


@pytest.mark.parametrize("stride", [1, 3])
@pytest.mark.parametrize("term, oracle", [("acg_match", acg_target),
                                          ("acg_variance_match", coincidence_spread)])
def test_the_acg_targets_are_those_of_the_training_windows_coincidences(stride, term, oracle):
    raster = (np.random.default_rng(6).random((60, 3)) < 0.4).astype(np.uint8)
    data = prepare_data(raster, 8, val_fraction=0.0, stride=stride)
    config = TrainConfig(batch_size=4, max_steps=1, eval_every=0, **{term: 1.0,
                                                                      f"{term}_lags": 5})
    targets = Trainer(MODEL, config, verbose=0).loss_targets(data)[term]
    windows = np.stack([raster[s:s + 8].T for s in range(0, 60 - 8 + 1, stride)])
    np.testing.assert_allclose(targets, oracle(windows, 5), rtol=1e-6)
    # windows given as windows: the same numbers
    as_windows = Trainer(MODEL, config, verbose=0).loss_targets(
        prepare_data(windows, val_fraction=0.0))[term]
    np.testing.assert_allclose(as_windows, targets, rtol=1e-6)
    if term == "acg_variance_match":  # and the statistic's own function, raster or windows
        from spikegan_tf.statistics import window_coincidence_variance

        assert window_coincidence_variance(windows, 5, per_spike=True) == pytest.approx(
            oracle(windows, 5))
        assert window_coincidence_variance(raster, 5, n_bins=8, stride=stride,
                                           per_spike=True) == pytest.approx(oracle(windows, 5))


@pytest.mark.parametrize("stride", [1, 3])
def test_the_pair_target_is_the_training_windows_pair_coincidences(stride):
    from spikegan_tf.statistics import pair_coincidences

    raster = (np.random.default_rng(6).random((60, 3)) < 0.4).astype(np.uint8)
    data = prepare_data(raster, 8, val_fraction=0.0, stride=stride)
    config = TrainConfig(batch_size=4, max_steps=1, eval_every=0, pair_match=1.0)
    target = Trainer(MODEL, config, verbose=0).loss_targets(data)["pair_match"]
    windows = np.stack([raster[s:s + 8].T for s in range(0, 60 - 8 + 1, stride)])
    np.testing.assert_allclose(target, pair_target(windows), rtol=1e-6)
    as_windows = Trainer(MODEL, config, verbose=0).loss_targets(
        prepare_data(windows, val_fraction=0.0))["pair_match"]
    np.testing.assert_allclose(as_windows, target, rtol=1e-6)
    np.testing.assert_allclose(pair_coincidences(raster, 3, n_bins=8, stride=stride)[:2],
                               pair_target(windows), rtol=1e-12)


@pytest.mark.parametrize("model, settings, message", [
    (MODEL, {"batch_size": 1}, "pair_match.*batch_size` >= 2.*batch_size=1"),
    (ModelConfig(n_neurons=1, n_bins=8, num_features=4, latent_dim=6), {},
     r"pair_match.*at least 2 neurons.*n_neurons=1"),
    (MODEL, {"pair_match_start": 5, "pair_match": 0.0},
     "pair_match_start.*is 5 but `pair_match` is 0")])
def test_the_pair_term_refuses_settings_it_cannot_use(model, settings, message):
    with pytest.raises(ConfigError, match=message):
        Trainer(model, TrainConfig(**{"pair_match": 1.0, **settings}), verbose=0)


def test_the_acg_lags_default_to_64_or_the_window_and_are_checked():
    assert TrainConfig().resolve(MODEL).acg_match_lags == 7  # 8-bin windows
    assert TrainConfig().resolve(ModelConfig(n_neurons=3, n_bins=256)).acg_match_lags == 64
    with pytest.raises(ConfigError, match=r"acg_match_lags.*smaller than the windows' n_bins "
                                          r"\(8\); received 8"):
        Trainer(MODEL, TrainConfig(acg_match=1.0, acg_match_lags=8), verbose=0)
    with pytest.raises(ConfigError, match="acg_match.*batch_size` >= 2.*batch_size=1"):
        Trainer(MODEL, TrainConfig(acg_match=1.0, batch_size=1), verbose=0)
    Trainer(MODEL, TrainConfig(acg_match_lags=8), verbose=0)  # inert without acg_match


@pytest.mark.parametrize("term, spikes, message", [
    # one spike per neuron and window
    ("acg_match", ([0, 1, 2], [0, 3, 5]), "acg_match.*spikes twice within 7 bins; there are"),
    # one coincidence per two spikes of every neuron in every window
    ("acg_variance_match", ([0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1]),
     "acg_variance_match.*within 7 bins vary"),
    # three neurons spiking at least two bins apart: no pair coincides in a bin or one apart
    ("pair_match", ([0, 1, 2], [0, 3, 6]),
     "pair_match.*two neurons spike in the same bin or one bin apart; there are none")])
def test_the_moment_terms_refuse_windows_they_cannot_use(tmp_path, term, spikes, message):
    windows = np.zeros((20, 3, 8), np.uint8)
    windows[:, spikes[0], spikes[1]] = 1
    config = TrainConfig(batch_size=4, max_steps=1, eval_every=0, **{term: 1.0})
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match=message):
        Trainer(MODEL, config, run_dir=run, verbose=0).fit(prepare_data(windows,
                                                                         val_fraction=0.0))
    assert not run.exists() or not any(run.iterdir())


def test_a_late_start_equals_a_continuation_that_switches_the_terms_on(tmp_path):
    """``variance_match_start``, ``acg_match_start`` and ``ema_start`` at ``S``: the run is a
    run without those terms and the average to step ``S``, continued from its checkpoint
    (weights, optimisers, random numbers) with them, the average started at the restored
    weights: the chain of continuations the retina's rasters were trained with, in one run."""
    windows = (np.random.default_rng(8).random((40, 3, 8)) < 0.4).astype("uint8")
    data = prepare_data(windows, val_fraction=0.0)
    base = {"batch_size": 6, "n_critic": 2, "max_steps": 7, "eval_every": 0, "seed": 4,
            "count_match": 10.0}
    terms = {"variance_match": 3.0, "acg_match": 30.0, "ema_decay": 0.9}
    starts = {"variance_match_start": 2, "acg_match_start": 2, "ema_start": 2}
    late = Trainer(MODEL, TrainConfig(**base, **terms, **starts), verbose=0)
    late.train_steps(data, 7)
    first = Trainer(MODEL, TrainConfig(**base), verbose=0)
    first.train_steps(data, 2)
    path = first.checkpoint.write(str(tmp_path / "step2"))
    then = Trainer(MODEL, TrainConfig(**base, **terms), verbose=0)
    tf.train.Checkpoint(generator=then.generator, critic=then.critic, step=then.step,
                        generator_optimizer=then.g_optimizer, critic_optimizer=then.d_optimizer,
                        rng=then.rng).read(path).assert_existing_objects_matched()
    then.generator_ema.set_weights(then.generator.get_weights())
    then.train_steps(data, 5)
    nets = ("generator", "generator_ema", "critic")
    for a, b in zip(*([w for n in nets for w in getattr(t, n).get_weights()]
                      for t in (late, then)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the terms from the first step, or never: another generator
    for settings in (terms, {}):
        other = Trainer(MODEL, TrainConfig(**base, **settings), verbose=0)
        other.train_steps(data, 7)
        gap = max(np.abs(a - b).max() for a, b in zip(
            late.generator.get_weights(), other.generator.get_weights(), strict=True))
        assert gap > 1e-4


def test_a_start_after_the_last_step_leaves_the_run_without_the_term():
    windows = (np.random.default_rng(9).random((40, 3, 8)) < 0.4).astype("uint8")
    data = prepare_data(windows, val_fraction=0.0)
    base = {"batch_size": 6, "max_steps": 3, "eval_every": 0, "seed": 2}
    runs = [Trainer(MODEL, TrainConfig(**base, **s), verbose=0) for s in (
        {}, {"acg_match": 30.0, "acg_match_start": 3, "variance_match": 3.0,
             "variance_match_start": 4})]
    losses = [t.train_steps(data, 3) for t in runs]
    for a, b in zip(*(t.generator.get_weights() for t in runs), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert losses[1]["acg_match"] > 0  # reported before it applies


@pytest.mark.parametrize("settings, message", [
    ({"critic_input": "probabilities"}, "acg_variance_match.*critic_input='probabilities'"),
    ({"batch_size": 3}, "acg_variance_match.*batch_size` >= 4.*batch_size=3"),
    ({"acg_variance_match_lags": 8},
     r"acg_variance_match_lags.*smaller than the windows' n_bins \(8\); received 8"),
    ({"acg_variance_match_start": 5, "acg_variance_match": 0.0},
     "acg_variance_match_start.*is 5 but `acg_variance_match` is 0")])
def test_the_acg_variance_term_refuses_settings_it_cannot_use(settings, message):
    with pytest.raises(ConfigError, match=message):
        Trainer(MODEL, TrainConfig(**{"acg_variance_match": 1.0, **settings}), verbose=0)
    assert TrainConfig().resolve(MODEL).acg_variance_match_lags == 7  # 8-bin windows
    assert TrainConfig().resolve(ModelConfig(n_neurons=3, n_bins=256)).acg_variance_match_lags \
        == 10
