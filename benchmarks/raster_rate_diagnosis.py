"""Why the raster autocorrelogram of a filtered temporal generator still misses the floor.

For one ``retina_curve.py`` temporal run (``--curve``), measures:

* the held-out split's mean rate over the training split's (the real data's own drift);
* the window model's mean firing probability over ``--sets`` independent sets of 8,192
  latent draws (the noise of a rate calibration on that many draws);
* on one long raster (``--length`` bins, sample seed 1) of the generator published with
  rates alone and with rates and the 10-lag filter: each neuron's coincidences per spike at
  lags 1-3 against the training raster's (mean absolute error over neurons), the pooled
  autocorrelogram's error at lags 1-10 against the held-out floor, and the rate ratio.

Writes ``OUT`` (JSON, with the machine record) and prints it::

    python benchmarks/raster_rate_diagnosis.py --curve benchmarks/results/temporal_history/train_seed0 \\
        --out benchmarks/results/temporal_history/rate_diagnosis.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data  # noqa: E402


def _lag_coincidences(x: np.ndarray, lags: int = 3) -> np.ndarray:
    """Per neuron, coincidences per spike at lags ``1..lags`` of a raster ``(T, N)``."""
    x = x.astype(np.float32)
    return np.stack([(x[lag:] * x[:-lag]).sum(0) / np.maximum(x[:-lag].sum(0), 1)
                     for lag in range(1, lags + 1)], axis=1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True)
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--sets", type=int, default=4)
    p.add_argument("--length", type=int, default=200_000)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data import load_spikes, split_raster, window_view
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.statistics import autocorrelogram

    config = ModelConfig.from_dict(json.loads((args.curve / "curve.json").read_text())
                                   ["settings"]["model"])
    raster = load_spikes(args.data, key="data").spikes
    train, test = split_raster(raster, (0.8, 0.2), gap=32)
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    trained = keras.models.load_model(args.curve / "generator.keras", safe_mode=True,
                                      compile=False)

    def acg(x: np.ndarray) -> np.ndarray:
        return autocorrelogram(window_view(x, 32, 1))[11:]

    acg_train = acg(train)
    floor = float(np.abs(acg(test) - acg_train).mean())
    means = []
    for s in range(args.sets):
        z = np.random.default_rng(s).standard_normal((8192, config.latent_dim)).astype("float32")
        means.append(float(np.mean([trained(z[i:i + 2048], training=False).numpy().mean()
                                    for i in range(0, 8192, 2048)])))
    result = {"benchmark": "raster_rate_diagnosis", "machine": machine_record(),
              "curve": str(args.curve), "length": args.length,
              "test_over_train_rate": float(test.mean() / train.mean()),
              "window_mean_probability_by_draw_set": means,
              "window_mean_spread": float((max(means) - min(means)) / np.mean(means)),
              "acg_floor_mae": floor, "models": {}}
    target = _lag_coincidences(train)
    for name, lags in (("rates", 0), ("history", 10)):
        model = calibrated_copy(trained, config, data, seed=0, history_lags=lags)
        fake = sample_raster(model, config, args.length, 1)
        a = acg(fake)
        result["models"][name] = {
            "neuron_lag_coincidence_mae": np.abs(_lag_coincidences(fake) - target).mean(0)
            .round(4).tolist(),
            "acg_mae": float(np.abs(a - acg_train).mean()),
            "acg_ratio": float(np.abs(a - acg_train).mean() / floor),
            "acg_minus_train": (a - acg_train).round(4).tolist(),
            "rate_ratio": float(fake.mean() / train.mean())}
    write_result(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
