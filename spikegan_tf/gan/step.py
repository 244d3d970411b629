"""The mathematics of one WGAN-GP training step, as a ``tf.function`` under ``tf.distribute``.

One training **step** is one generator iteration of the paper: ``n_critic``
critic updates (each on a fresh real batch, fresh fake batch and fresh
interpolation weights, loss ``E[D(fake)] - E[D(real)] + gp_weight * GP``)
followed by one generator update (loss ``-E[D(G(z))]``), Adam(3e-4, 0, 0.9)
for both, batch 64 (:class:`TrainConfig`; ``TrainConfig.from_recipe("paper")``
is the paper's Adam(1e-4, 0, 0.9)). By default the critic sees generated
windows as Bernoulli spikes with a straight-through gradient
(:func:`spikegan_tf.gan.losses.critic_view`), as binary as the real ones.

How the step is made fast without changing the mathematics:

* the ``n_critic`` fake batches of one step are generated in **one** generator
  call (the generator does not change during the critic updates and has no
  batch-coupled layers);
* real, fake and interpolated windows go through the critic as **one** batch;
* real windows are sampled **inside the graph**: the training windows (or the
  training raster, windowed on the fly from random start indices) are a
  constant and each batch is a ``tf.gather`` of indices drawn uniformly, with
  replacement, from the trainer's ``tf.random.Generator``;
* several steps run per ``tf.function`` call (``steps_per_call``), and the
  whole loop can be XLA-compiled (``jit_compile``: for GPUs; on CPUs XLA
  compiles the penalty's second-order convolutions ~40x slower).

On a CPU the step is compute-bound: ``benchmarks/bench_train.py`` measures
~80 GFLOP per CPU-second for both this trainer and a straightforward Keras
step, ~80 % of what a large float32 matmul reaches.

Randomness: the trainer owns ``tf.random.Generator.from_seed(seed)``; it draws
every random number of a step (data indices, ``z``, interpolation weights) for
the **global** batch in cross-replica context, and each replica takes its slice,
so one seed gives the same training whatever the number of replicas. The
generator is checkpointed with the models, both optimisers and the step
counter: ``k`` steps, then resume for ``k`` more, equals ``2 k`` steps.

Losses are summed per replica and divided by the global batch size, so the
all-reduced gradients are those of the global batch.

:class:`WGANGPStep` is the part of :class:`spikegan_tf.gan.trainer.Trainer` that
builds and runs the step; the trainer adds the networks, the run directory and
the loop.
"""

from __future__ import annotations

from typing import Any

from spikegan_tf.data.splits import TrainingData
from spikegan_tf.errors import ConfigError, TrainingDivergedError
from spikegan_tf.gan.train_config import GENERATOR_TERMS

__all__ = ["WGANGPStep"]


class WGANGPStep:
    """Build and run the WGAN-GP step of a trainer (a mixin of :class:`Trainer`).

    Expects the attributes :class:`Trainer` sets: ``config``, ``model_config``,
    ``generator``, ``critic``, ``g_optimizer``, ``d_optimizer``, ``rng``, ``step``,
    ``strategy``, ``_single_device``, ``_train_fn``, ``generator_ema`` (None
    unless ``ema_decay``) and ``_critic_paths`` (None unless ``gp_per_path``).
    """

    def _optimizer(self, keras: Any, name: str, updates_per_step: int = 1,
                   learning_rate: float | None = None) -> Any:
        """Adam for one network; ``updates_per_step`` of its updates make one generator step.

        ``learning_rate`` (default ``config.learning_rate``) is its initial rate.
        """
        cfg = self.config
        lr: Any = cfg.learning_rate if learning_rate is None else learning_rate
        if cfg.lr_decay_steps:
            lr = keras.optimizers.schedules.CosineDecay(
                lr, decay_steps=cfg.lr_decay_steps * updates_per_step, alpha=0.0)
        opt = keras.optimizers.Adam(learning_rate=lr, beta_1=cfg.beta_1,
                                    beta_2=cfg.beta_2, name=name)
        if cfg.scales_losses:
            opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
        return opt

    def _sample_real(self, data: Any, count: int) -> Any:
        """Draw ``count`` training windows in the graph (uniform, with replacement)."""
        import tensorflow as tf

        table, n_windows, raster_stride, conditions = data
        idx = self.rng.uniform((count,), 0, n_windows, dtype=tf.int64)
        cond = [tf.gather(c, idx) for c in conditions]
        if raster_stride is None:
            return tf.cast(tf.gather(table, idx), tf.float32), cond
        n_bins = self.model_config.n_bins
        rows = idx[:, None] * raster_stride + tf.range(n_bins, dtype=tf.int64)[None, :]
        windows = tf.gather(table, rows)  # (count, n_bins, n_neurons)
        return tf.transpose(tf.cast(windows, tf.float32), (0, 2, 1)), cond

    def _sample_conditions(self, data: Any, count: int) -> list[Any]:
        """Conditions of ``count`` training windows drawn uniformly (for the generator update)."""
        import tensorflow as tf

        _, n_windows, _, conditions = data
        if not conditions:
            return []
        idx = self.rng.uniform((count,), 0, n_windows, dtype=tf.int64)
        return [tf.gather(c, idx) for c in conditions]

    def _replica_step(self, real: Any, z_critic: Any, alpha: Any, z_gen: Any,
                      u_critic: Any = None, u_gen: Any = None, cond_critic: Any = (),
                      cond_gen: Any = ()) -> dict[str, Any]:
        """One generator iteration on this replica's slice of the global batch.

        ``u_critic`` / ``u_gen`` are the uniform draws that turn the fake
        probabilities into spikes for the critic (``critic_input="spikes"``),
        ``None`` when the critic sees the probabilities. ``cond_critic``
        (``(k, batch, ...)`` each) and ``cond_gen`` (``(batch, ...)``) are the
        condition inputs of a conditional model: the fakes of each critic
        update are generated for the real windows' conditions.
        """
        import tensorflow as tf

        from spikegan_tf.gan.losses import (
            acg_match_terms,
            count_match_terms,
            critic_objective,
            critic_view,
            generator_loss,
            pair_match_terms,
            variance_match_terms,
            window_coincidences,
        )

        cfg, mc = self.config, self.model_config
        ctx = tf.distribute.get_replica_context()
        n_rep = ctx.num_replicas_in_sync
        batch = cfg.batch_size
        per = batch // n_rep
        start = 0
        if n_rep > 1:
            start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * per
            real = real[:, start:start + per]
            z_critic = z_critic[:, start:start + per]
            alpha = alpha[:, start:start + per]
            z_gen = z_gen[start:start + per]
            if u_critic is not None:
                u_critic = u_critic[:, start:start + per]
                u_gen = u_gen[start:start + per]
            cond_critic = [c[:, start:start + per] for c in cond_critic]
            cond_gen = [c[start:start + per] for c in cond_gen]
        cond_critic, cond_gen = list(cond_critic), list(cond_gen)
        k = cfg.n_critic
        mixed = cfg.scales_losses
        # all fake batches of the critic updates in one call: G is fixed meanwhile
        z_all = tf.reshape(z_critic, (k * per, mc.latent_dim))
        cond_all = [tf.reshape(c, (k * per, *c.shape[2:])) for c in cond_critic]
        fake = self.generator([z_all, *cond_all] if cond_all else z_all, training=True)
        fake = tf.reshape(tf.cast(fake, tf.float32), (k, per, mc.n_neurons, mc.n_bins))
        if u_critic is not None:  # the critic sees spikes, as it does for real windows
            fake = critic_view(fake, u_critic)
        critic_vars = self.critic.trainable_variables
        d_total = d_wass = d_gp = tf.constant(0.0)
        lazy = cfg.gp_every > 1
        for i in tf.range(k) if self._single_device else range(k):
            with tf.GradientTape() as tape:
                def objective(gp_weight: float, i: Any = i) -> tuple[Any, Any, Any]:
                    return critic_objective(self.critic, real[i], fake[i], alpha[i], gp_weight,
                                            global_batch_size=batch,
                                            condition=[c[i] for c in cond_critic],
                                            paths=self._critic_paths)

                if lazy:  # the penalty on every gp_every-th critic update of the run, scaled
                    update = self.step * k + tf.cast(i, self.step.dtype)
                    total, wass, gp = tf.cond(
                        update % cfg.gp_every == 0,
                        lambda: objective(cfg.gp_weight * cfg.gp_every),
                        lambda: objective(0.0))
                else:
                    total, wass, gp = objective(cfg.gp_weight)
                loss = self.d_optimizer.scale_loss(total) if mixed else total
            grads = tape.gradient(loss, critic_vars)
            self.d_optimizer.apply(grads, critic_vars)
            d_total, d_wass, d_gp = d_total + total, d_wass + wass, d_gp + gp
        gen_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            probs_gen = tf.cast(self.generator([z_gen, *cond_gen] if cond_gen else z_gen,
                                               training=True), tf.float32)
            fake_gen = probs_gen if u_gen is None else critic_view(probs_gen, u_gen)
            scores = self.critic([fake_gen, *cond_gen] if cond_gen else fake_gen, training=True)
            g_loss = generator_loss(scores, global_batch_size=batch)
            total_g = g_loss
            if cfg.count_match:  # P(K) matched directly (TrainConfig.count_match)
                surrogate, distance = count_match_terms(
                    self._count_histogram(fake_gen), self._count_target, mc.n_bins,
                    global_batch_size=batch,
                    all_reduce=lambda share: ctx.all_reduce(tf.distribute.ReduceOp.SUM, share))
                total_g = g_loss + cfg.count_match * surrogate
            if cfg.variance_match:  # the windows' count variance (TrainConfig.variance_match)
                counts = tf.reduce_sum(fake_gen, axis=1)  # (batch, n_bins)
                surrogate_v = value_v = tf.constant(0.0)
                scales = cfg.variance_match_scales
                for j in range(scales):  # the window, its halves, quarters, ...
                    parts = tf.reduce_sum(tf.reshape(counts, (-1, 2**j, mc.n_bins >> j)), -1)
                    surrogate_j, value_j = variance_match_terms(
                        parts, self._variance_target[j], offset=start,
                        all_reduce=lambda sums: ctx.all_reduce(tf.distribute.ReduceOp.SUM, sums),
                        relative=cfg.variance_match_relative)
                    surrogate_v, value_v = surrogate_v + surrogate_j, value_v + value_j
                surrogate_v, value_v = surrogate_v / scales, value_v / scales
                total_g = total_g + self._from_step(cfg.variance_match,
                                                    cfg.variance_match_start) * surrogate_v
            if cfg.acg_match:  # the autocorrelogram, on probabilities (TrainConfig.acg_match)
                surrogate_a, value_a = acg_match_terms(
                    probs_gen, self._acg_target, offset=start,
                    all_reduce=lambda sums: ctx.all_reduce(tf.distribute.ReduceOp.SUM, sums))
                total_g = total_g + self._from_step(cfg.acg_match,
                                                    cfg.acg_match_start) * surrogate_a
            if cfg.acg_variance_match:  # the windows' burstiness spread (acg_variance_match)
                surrogate_b, value_b = variance_match_terms(
                    window_coincidences(fake_gen, cfg.acg_variance_match_lags, per_spike=True),
                    self._acg_variance_target, offset=start,
                    all_reduce=lambda sums: ctx.all_reduce(tf.distribute.ReduceOp.SUM, sums),
                    relative=True)
                total_g = total_g + self._from_step(cfg.acg_variance_match,
                                                    cfg.acg_variance_match_start) * surrogate_b
            if cfg.pair_match:  # pairs' coincidences, on probabilities (TrainConfig.pair_match)
                surrogate_p, value_p = pair_match_terms(
                    probs_gen, self._pair_target, offset=start,
                    all_reduce=lambda sums: ctx.all_reduce(tf.distribute.ReduceOp.SUM, sums))
                total_g = total_g + self._from_step(cfg.pair_match,
                                                    cfg.pair_match_start) * surrogate_p
            loss = self.g_optimizer.scale_loss(total_g) if mixed else total_g
        grads = tape.gradient(loss, gen_vars)
        self.g_optimizer.apply(grads, gen_vars)
        out = {"d_loss": d_total / k, "wasserstein": -d_wass / k, "gp": d_gp / k,
               "g_loss": g_loss}
        if cfg.count_match:  # every replica holds the global distance: report its share
            out["count_match"] = distance / n_rep
        if cfg.variance_match:
            out["variance_match"] = value_v / n_rep
        if cfg.acg_match:
            out["acg_match"] = value_a / n_rep
        if cfg.acg_variance_match:
            out["acg_variance_match"] = value_b / n_rep
        if cfg.pair_match:
            out["pair_match"] = value_p / n_rep
        return out

    def _one_step(self, data: Any) -> dict[str, Any]:
        """Draw the global batch's random numbers, run the replicas, reduce the losses."""
        import tensorflow as tf

        cfg, mc = self.config, self.model_config
        k, b = cfg.n_critic, cfg.batch_size
        real, cond = self._sample_real(data, k * b)
        real = tf.reshape(real, (k, b, mc.n_neurons, mc.n_bins))
        z_critic = self.rng.normal((k, b, mc.latent_dim))
        alpha = self.rng.uniform((k, b, 1, 1))
        z_gen = self.rng.normal((b, mc.latent_dim))
        args: tuple[Any, ...] = (real, z_critic, alpha, z_gen)
        if cfg.critic_input == "spikes":
            shape = (b, mc.n_neurons, mc.n_bins)
            args += (self.rng.uniform((k, *shape)), self.rng.uniform(shape))
        elif cond:
            args += (None, None)
        kwargs = {}
        if cond:  # conditional: the real windows' conditions, and fresh ones for G's update
            kwargs = {"cond_critic": tuple(tf.reshape(c, (k, b, *c.shape[1:])) for c in cond),
                      "cond_gen": tuple(self._sample_conditions(data, b))}
        per_replica = self.strategy.run(self._replica_step, args=args, kwargs=kwargs)
        losses = {name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                  for name, value in per_replica.items()}
        self.step.assign_add(1)
        if self.generator_ema is not None:
            self._update_ema()
        return losses

    def _from_step(self, weight: float, start: int) -> Any:
        """A term's weight at this step: ``weight`` from the step ``start`` on, 0 before it."""
        import tensorflow as tf

        if not start:
            return weight
        return tf.where(self.step >= start, tf.constant(weight, tf.float32), 0.0)

    def _update_ema(self) -> None:
        """``w_ema <- d w_ema + (1 - d) w`` with ``d = min(ema_decay, (1 + t) / (10 + t))``.

        ``t`` is the step after the update; up to ``ema_start`` ``d = 0``: the average is ``w``.
        """
        import tensorflow as tf

        t = tf.cast(self.step, tf.float32)
        decay = tf.minimum(tf.constant(self.config.ema_decay, tf.float32), (1.0 + t) / (10.0 + t))
        if self.config.ema_start:
            decay = tf.where(self.step <= self.config.ema_start, 0.0, decay)
        for avg, w in zip(self.generator_ema.weights, self.generator.weights, strict=True):
            avg.assign(tf.cast(decay, avg.dtype) * avg + tf.cast(1.0 - decay, avg.dtype) * w)

    def _build_train_fn(self, data: Any) -> Any:
        import tensorflow as tf

        names = ("d_loss", "wasserstein", "gp", "g_loss") + tuple(
            term for term in GENERATOR_TERMS if getattr(self.config, term))

        def train_fn(n_steps: Any) -> tuple[dict[str, Any], Any, Any]:
            losses = {name: tf.constant(0.0) for name in names}
            finite = tf.constant(True)
            done = tf.constant(0, tf.int64)
            while done < n_steps and finite:
                losses = self._one_step(data)
                finite = tf.reduce_all(tf.math.is_finite(tf.stack(list(losses.values()))))
                done += 1
            return losses, finite, done

        jit = self.config.jit_compile and self._single_device
        return tf.function(train_fn, jit_compile=jit, reduce_retracing=True)

    def loss_targets(self, data: TrainingData) -> dict[str, Any]:
        """The training windows' targets of the count, variance and ACG terms (those switched on).

        ``count_match``: the training windows' P(K), capped at ``count_match_max``
        (the last class holds the rest); ``variance_match``: the variance of their
        spike counts (over the squared mean with ``variance_match_relative``), one
        per scale of ``variance_match_scales`` (whole windows first): for parts of
        windows, the expected value of a batch half's pooled variance,
        ``(N s2 - v / m) / (N - 1)`` with ``m`` parts per window, ``N`` parts per
        half, ``s2`` the parts' variance and ``v`` the windows'; ``acg_match``:
        the mean coincidence ``x_i(t) x_i(t + l)`` over the windows, neurons and
        in-window pairs, for ``l = 1..acg_match_lags``; ``acg_variance_match``: the
        squared coefficient of variation of their windows' coincidences per spike
        at lags ``1..acg_variance_match_lags``; ``pair_match``: the mean
        coincidences ``x_i(t) x_j(t + l)`` of pairs of neurons, ``l = 0, 1``
        (:func:`spikegan_tf.statistics.pair_coincidences`).
        Computed once per ``data``; :meth:`Trainer.fit` calls it before it writes
        the run directory, so data a term cannot use is refused with nothing
        written.

        Raises
        ------
        ConfigError
            ``variance_match`` with windows that all have the same spike count;
            ``acg_match`` with windows in which no neuron spikes twice within its lags;
            ``acg_variance_match`` with windows whose coincidences do not vary;
            ``pair_match`` with windows in which no two neurons spike together
            or one bin apart.
        """
        import numpy as np

        if self._targets is not None and self._targets[0] is data:
            return self._targets[1]
        targets: dict[str, Any] = {}
        if self.config.count_match:
            from spikegan_tf.statistics import spike_count_distribution

            cap = self.config.count_match_max
            pk = spike_count_distribution(data.train)
            pk = np.pad(pk, (0, max(0, cap + 1 - pk.size)))
            targets["count_match"] = np.append(pk[:cap], pk[cap:].sum()).astype(np.float32)
        if self.config.variance_match:
            from spikegan_tf.statistics import window_count_variance

            relative = self.config.variance_match_relative
            whole = window_count_variance(data.train, relative=relative)
            if not whole > 0:
                raise ConfigError("`variance_match` (--variance-match) needs training windows "
                                  "whose spike counts vary; every window has the same count.")
            scale = [float(whole)]
            for j in range(1, self.config.variance_match_scales):
                m = 2**j
                n = m * (self.config.batch_size // 2)  # parts per batch half
                # v / m, over a part's squared mean (a window's / m) with relative: m v / M^2
                share = m * whole if relative else whole / m
                part = window_count_variance(data.train, relative=relative, parts=m)
                scale.append((n * part - share) / (n - 1))
            targets["variance_match"] = np.asarray(scale, np.float32)
        if self.config.acg_match:
            from spikegan_tf.statistics import autocorrelogram

            lags = self.config.acg_match_lags
            src = data.train
            counts = autocorrelogram(src, lags, normalize="counts")[lags + 1:]
            pairs = src.n_windows * src.n_neurons * (src.n_bins - np.arange(1, lags + 1))
            if not counts.sum() > 0:
                raise ConfigError("`acg_match` (--acg-match) needs training windows in which a "
                                  f"neuron spikes twice within {lags} bins; there are none.")
            targets["acg_match"] = (counts / pairs).astype(np.float32)
        if self.config.acg_variance_match:
            from spikegan_tf.statistics import window_coincidence_variance

            lags = self.config.acg_variance_match_lags
            spread = window_coincidence_variance(data.train, lags, per_spike=True)
            if not spread > 0:
                raise ConfigError("`acg_variance_match` (--acg-variance-match) needs training "
                                  "windows whose coincidences within "
                                  f"{lags} bins vary; every window has the same number.")
            targets["acg_variance_match"] = np.float32(spread)
        if self.config.pair_match:
            from spikegan_tf.statistics import pair_coincidences

            moments = pair_coincidences(data.train, 1)
            cross = ~np.eye(moments.shape[-1], dtype=bool)
            if not moments[:, cross].sum() > 0:
                raise ConfigError("`pair_match` (--pair-match) needs training windows in which "
                                  "two neurons spike in the same bin or one bin apart; there "
                                  "are none.")
            targets["pair_match"] = moments.astype(np.float32)
        self._targets = (data, targets)
        return targets

    def _data_tensors(self, data: TrainingData) -> Any:
        import tensorflow as tf

        table = tf.constant(data.train.spikes)
        targets = self.loss_targets(data)
        if "count_match" in targets:
            self._count_target = tf.constant(targets["count_match"], tf.float32)
        if "variance_match" in targets:
            self._variance_target = tf.constant(targets["variance_match"], tf.float32)
        if "acg_match" in targets:
            self._acg_target = tf.constant(targets["acg_match"], tf.float32)
        if "acg_variance_match" in targets:
            self._acg_variance_target = tf.constant(targets["acg_variance_match"], tf.float32)
        if "pair_match" in targets:
            self._pair_target = tf.constant(targets["pair_match"], tf.float32)
        conditions = tuple(tf.constant(c) for c in data.conditions.model_inputs()) \
            if data.conditional else ()
        if data.is_raster:
            return (table, tf.constant(data.n_train, tf.int64), tf.constant(data.stride, tf.int64),
                    conditions)
        return table, tf.constant(data.n_train, tf.int64), None, conditions

    def train_steps(self, data: TrainingData, n_steps: int) -> dict[str, float]:
        """Run ``n_steps`` steps without any run-directory I/O; return the last losses.

        Raises :class:`TrainingDivergedError` on a non-finite loss.
        """
        losses, finite, done = self._call(data, n_steps)
        if not finite:
            raise TrainingDivergedError(self.diverged_message(losses))
        return losses

    def _call(self, data: TrainingData, n_steps: int) -> tuple[dict[str, float], bool, int]:
        import tensorflow as tf

        self._check_data(data)
        key = id(data)
        if self._train_fn is None or self._data_key != key:
            self._data = self._data_tensors(data)
            self._train_fn = self._build_train_fn(self._data)
            self._data_key = key
        losses, finite, done = self._train_fn(tf.constant(n_steps, tf.int64))
        return ({k: float(v) for k, v in losses.items()}, bool(finite), int(done))

