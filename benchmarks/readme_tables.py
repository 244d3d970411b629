"""Print the retina table of ``benchmarks/RESULTS.md`` (and the rows the README quotes) from the
committed results files (nothing is typed by hand).

Every row names its file; iterations, training seconds and the machine's float32
matmul calibration come from the same file as the ratios ("n/r" where a run
predates the calibration record).

    python benchmarks/readme_tables.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PRETRAINED = Path(__file__).resolve().parents[1] / "spikegan_tf" / "gan" / "pretrained" / "retina50"
STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram", "time_course")
RUNS = [("retina", "Spike-GAN, paper's lr 1e-4, critic fed probabilities"),
        ("retina_lr3e-4", "Spike-GAN, lr 3e-4, probabilities"),
        ("retina_lr3e-4_paperinit", "Spike-GAN, lr 3e-4, probabilities, output at 0.5"),
        ("retina_lr3e-4_rateinit", "Spike-GAN, lr 3e-4, probabilities, rate init")]
CURVE = "retina_curve_default"
BASELINES = ("DG (ours)", "k-pairwise (ours)", "independent")


def _row(label: str, its: str, secs: str, calib: str, ratio: dict, source: str) -> str:
    cells = " | ".join(f"{ratio[s]:.2f}" for s in STATS)
    return f"| {label} | {its} | {secs} | {calib} | {cells} | `{source}` |"


def table() -> str:
    head = ("| model | iterations | training s | GFLOP/s | rate | cov | lag-1 cov | P(K) | "
            "autocorrelogram | time course | file |\n|" + "---|" * 11)
    rows = [head]
    for name, label in RUNS:
        b = json.loads((RESULTS / name / "benchmark.json").read_text())
        t = b["timings"]["Spike-GAN"]
        calib = b.get("machine_record", {}).get("matmul_float32", {}).get("gflop_per_s")
        rows.append(_row(label, f"{t['steps']:,}", f"{t['train_s']:.0f} wall",
                         "n/r" if calib is None else f"{calib:.0f}",
                         b["ratio_to_floor"]["Spike-GAN"], f"results/{name}/benchmark.json"))
    curve = json.loads((RESULTS / CURVE / "curve.json").read_text())
    calib = "/".join(f"{s['machine']['matmul_float32']['gflop_per_s']:.0f}"
                     for s in curve["sessions"])
    points = {p["step"]: p for p in curve["points"]}
    for step, label in ((17000, "Spike-GAN, default (spikes to the critic)"),
                        (max(points), "Spike-GAN, default, end of the curve")):
        p = points[step]
        rows.append(_row(label, f"{step:,}", f"{p['cpu_s']:.0f} CPU", calib, p["ratio"],
                         f"results/{CURVE}/curve.json"))
        if step == 17000:
            cal = json.loads((RESULTS / "retina_calibrate.json").read_text())
            rows.append(_row("same weights, rates calibrated (median of 3 sample seeds)",
                             f"{step:,}", f"{p['cpu_s']:.0f} CPU",
                             f"{cal['machine']['matmul_float32']['gflop_per_s']:.0f}",
                             cal["median"]["rates calibrated"],
                             "results/retina_calibrate.json"))
            pre = json.loads((PRETRAINED / "config.json").read_text())["pretrained"]
            rows.append(_row("same weights, rates, positions, a spike-history filter, a lag-1 "
                             "and a same-bin coupling calibrated: packaged `retina50` (sample "
                             "seed 1)", f"{step:,}", f"{p['cpu_s']:.0f} CPU",
                             "-", pre["ratio_to_floor"],
                             "spikegan_tf/gan/pretrained/retina50/config.json"))
    pos = json.loads((RESULTS / "retina_positions_seed0.json").read_text())
    run = json.loads((RESULTS / "retina8k_seed0" / "curve.json").read_text())  # its training
    last = run["points"][-1]
    for model, label in (("rates calibrated", "rates calibrated"),
                         ("positions calibrated", "rates and positions calibrated")):
        rows.append(_row(f"Spike-GAN, default, training seed 0, {label} (median of 3 sample "
                         "seeds)", f"{last['step']:,}", f"{last['cpu_s']:.0f} CPU",
                         f"{run['sessions'][0]['machine']['matmul_float32']['gflop_per_s']:.0f}",
                         pos["median"][model], "results/retina_positions_seed0.json"))
    fit = json.loads((RESULTS / "history_fit" / "history_fit.json").read_text())
    for path, entry in fit["runs"].items():
        run_dir = Path(path).parent
        run = json.loads((RESULTS / "history_fit" / run_dir.name / "curve.json").read_text())
        last = run["points"][-1]
        seed = run["settings"]["train"]["seed"]
        for model, label in (("published", "rates and positions calibrated"),
                             ("history", "and a spike-history filter (session 14's default)")):
            rows.append(_row(f"Spike-GAN, default, training seed {seed}, {label} (median of 3 "
                             "sample seeds)", f"{last['step']:,}", f"{last['cpu_s']:.0f} CPU",
                             f"{run['sessions'][0]['machine']['matmul_float32']['gflop_per_s']:.0f}",
                             entry["models"][model]["median"],
                             "results/history_fit/history_fit.json"))
    for name, model, label in (
            ("coupling/history_fit_s01.json", "coupling",
             "filter and a lag-1 coupling (session 16's default)"),
            ("coupling/history_fit_s2.json", "coupling",
             "filter and a lag-1 coupling (session 16's default)"),
            ("same_bin/history_fit.json", "same_bin",
             "filter, lag-1 and same-bin couplings (today's default)")):
        fit = json.loads((RESULTS / name).read_text())
        for path, entry in fit["runs"].items():
            run = json.loads((RESULTS / "coupling" / Path(path).parent.name / "curve.json"
                              ).read_text())
            last = run["points"][-1]
            rows.append(_row(f"Spike-GAN, default, training seed {run['settings']['train']['seed']}"
                             f", {label} (median of 3 sample seeds)", f"{last['step']:,}",
                             f"{last['cpu_s']:.0f} CPU",
                             f"{run['sessions'][0]['machine']['matmul_float32']['gflop_per_s']:.0f}",
                             entry["models"][model]["median"], f"results/{name}"))
    perfect = json.loads((RESULTS / "retina_protocol_floor.json").read_text())
    rows.append(_row("perfect model: 1,768 training windows drawn at random (median of 20)",
                     "-", "-", "-", {s: v["median"] for s, v in perfect["summary"]["perfect"].items()},
                     "results/retina_protocol_floor.json"))
    rows.append(_row("authors' DG samples, 1,768 windows drawn at random (median of 20; "
                     "fitted on the whole recording)", "-", "-", "-",
                     {s: v["median"] for s, v in perfect["summary"]["authors_dg"].items()},
                     "results/retina_protocol_floor.json"))
    rows.append(_row("DG (ours, 2 states), 1,768 windows (median of 20 sampling seeds; fitted on "
                     "the training part)", "-", "-", "-",
                     {s: v["median"] for s, v in perfect["summary"]["ours_dg"].items()},
                     "results/retina_protocol_floor.json"))
    b = json.loads((RESULTS / "retina_lr3e-4_rateinit" / "benchmark.json").read_text())
    for name in BASELINES:
        rows.append(_row(f"{name} (fitted on the training part)", "-", "-", "-",
                         b["ratio_to_floor"][name], "results/retina_lr3e-4_rateinit/benchmark.json"))
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
