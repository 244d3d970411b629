"""Publish the generator of an earlier checkpoint of a ``retina_curve.py`` run.

``retina_curve.py`` keeps the checkpoints of its last two evaluation points and
the published generator of the last. This script restores the checkpoint at
``--step`` (``RUN/checkpoints/ckpt-STEP``), publishes its generator as the run
would have at that point (rates and spike-history filter calibrated to the
training split, ``Trainer.published_generator``), and writes a new run
directory ``--out`` with that ``generator.keras``, the run's ``curve.json``
and its ``curve.jsonl`` up to that step, so that ``raster_retina.py`` and
``raster_slow_variance.py`` evaluate that point's rasters. The choice of a
step can only use what the run measured against the *training* split
(``curve.jsonl``); the held-out split is the floor's denominator, not a
criterion. ``--last-iterate`` publishes a weight-averaged run's last iterate instead of its
average (the checkpoint keeps both), for a comparison along one trajectory.

    python benchmarks/publish_checkpoint.py \\
        --curve benchmarks/results/critic_head_long/head64counts16_seed0 --step 5000 \\
        --out benchmarks/results/critic_head_long/head64counts16at5k_seed0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from retina_curve import _default_data, load_run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--step", type=int, required=True, help="a kept checkpoint's step")
    p.add_argument("--out", type=Path, required=True, help="new run directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--last-iterate", action="store_true",
                   help="publish the last iterate of a weight-averaged run, not the average")
    args = p.parse_args(argv)
    ckpt = args.curve / "checkpoints" / f"ckpt-{args.step}"
    if not Path(f"{ckpt}.index").exists():
        kept = sorted(x.stem for x in (args.curve / "checkpoints").glob("ckpt-*.index"))
        raise SystemExit(f"{ckpt}: no such checkpoint; kept: {', '.join(kept) or 'none'}")
    if args.out.exists():
        raise SystemExit(f"{args.out}: exists; choose a new --out")

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan import rundir
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    model, train, _ = load_run(args.curve, args.data)
    state = json.loads((args.curve / "curve.json").read_text())
    cfg = TrainConfig.from_dict(state["settings"]["train"])
    if args.last_iterate:  # without the average, the checkpoint's last iterate is published
        if not cfg.ema_decay:
            raise SystemExit(f"{args.curve}: --last-iterate needs a weight-averaged run")
        cfg = dataclasses.replace(cfg, ema_decay=0.0)
        state["settings"]["train"]["ema_decay"] = 0.0
    trainer = Trainer(model, cfg, verbose=0)
    trainer.checkpoint.restore(str(ckpt)).assert_existing_objects_matched()
    assert int(trainer.step.numpy()) == args.step
    trainer.train_steps(prepare_data(train, model.n_bins, val_fraction=0.0), 0)
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rundir.save_model(trainer.published_generator(), tmp / "generator.keras",
                      trainer.published_step())
    points = [json.loads(x) for x in (args.curve / "curve.jsonl").read_text().splitlines() if x]
    (tmp / "curve.jsonl").write_text("".join(json.dumps(q) + "\n" for q in points
                                             if q["step"] <= args.step))
    state["points"] = [q for q in state["points"] if q["step"] <= args.step]
    state["published_from"] = {"curve": str(args.curve), "step": args.step,
                               "last_iterate": args.last_iterate}
    (tmp / "curve.json").write_text(json.dumps(state, indent=1) + "\n")
    tmp.rename(args.out)
    print(f"{args.out}: the published generator of {ckpt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
