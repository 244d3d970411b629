"""evaluate(): the one-call orchestration writes consistent results, report and figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spikegan_tf.evaluation.figures as figures
from spikegan_tf import statistics as S
from spikegan_tf.evaluation.report import evaluate

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data(rng):
    raster = (rng.random((1000, 6)) < 0.15).astype(np.uint8)
    train, test = raster[:700], raster[700:]
    model = (rng.random((200, 6, 8)) < 0.15).astype(np.uint8)
    return train, test, model


def test_evaluate_writes_everything(data, tmp_path):
    train, test, model = data
    windows = np.lib.stride_tricks.sliding_window_view(train, 8, axis=0)
    copies = np.ascontiguousarray(windows[::10])  # a "model" that memorised the training set
    res = evaluate(train, {"model": model, "copier": copies}, noise_floor=test, train=train,
                   out_dir=tmp_path, n_bins=8, max_lag=3, notes="fit on train only",
                   reference_label="train", n_memorization=40, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ratios.png", "report.md", "results.json", "statistics.png"]
    for png in ("statistics.png", "ratios.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(res.to_dict()))
    assert saved["reference"] == "train" and saved["noise_floor"] == "held-out"
    assert saved["figures"] == ["statistics.png", "ratios.png"]
    fp = saved["results"]["model"]["firing_probability"]
    expected = np.abs(S.firing_probability(model)
                      - S.firing_probability(train, n_bins=8)).mean()
    assert fp["mae"] == pytest.approx(expected)
    # memorisation: the copier copies, the model and the held-out data do not (always)
    mem = saved["memorization"]
    assert mem["copier"]["exact_copy_fraction"] == 1.0 and mem["copier"]["n"] == 40
    assert mem["model"]["exact_copy_fraction"] < 1.0
    assert mem["held-out"]["mean"] > 0
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Evaluation report")
    assert "fit on train only" in report and "![statistics](statistics.png)" in report
    assert "| copier | 40 |" in report


def test_without_out_dir_or_figures(data, tmp_path):
    train, test, model = data
    res = evaluate(train, {"model": model}, n_bins=8, max_lag=2)
    assert res.figures == () and res.memorization == {}
    out = tmp_path / "o"
    evaluate(train, {"model": model}, noise_floor=test, n_bins=8, max_lag=2, out_dir=out,
             figures=False)
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "results.json"]


def test_statistics_only_candidate_skips_memorisation(data):
    train, test, model = data
    ref = S.compute_statistics(train, n_bins=8, max_lag=2)
    st = S.compute_statistics(model, max_lag=2, word_neurons=ref.word_neurons)
    res = evaluate(ref, {"model": st}, train=train, n_bins=8, n_memorization=10)
    assert "model" not in res.memorization
    assert any("only its statistics" in n for n in res.notes)


def test_missing_matplotlib_is_a_note_not_a_crash(data, tmp_path, monkeypatch):
    train, test, model = data

    def no_mpl():
        raise ImportError("Figures need matplotlib: pip install 'spikegan-tf[plot]'")

    monkeypatch.setattr(figures, "require_matplotlib", no_mpl)
    res = evaluate(train, {"model": model}, noise_floor=test, n_bins=8, max_lag=2,
                   out_dir=tmp_path)
    assert res.figures == ()
    assert any("matplotlib" in n for n in res.notes)
    assert not (tmp_path / "statistics.png").exists()
    assert "matplotlib" in (tmp_path / "report.md").read_text()


def test_out_dir_that_is_a_file(data, tmp_path):
    from spikegan_tf.errors import RunDirError

    train, _, model = data
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RunDirError, match="must be a directory"):
        evaluate(train, {"model": model}, n_bins=8, out_dir=f)
