"""`spikegan split`: train/validation/test files with gaps (issue 12, item 9)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data import split_raster, split_windows


def test_split_a_raster_in_time_with_gaps_and_evaluate_with_the_parts(tmp_path, capsys):
    raster = (np.random.default_rng(0).random((2000, 3)) < 0.2).astype(np.uint8)
    raster[:, 2] = (np.arange(2000) // 7) % 2  # a clock: recognisable time bins
    np.savez(tmp_path / "rec.npz", data=raster)
    out = tmp_path / "split"
    assert main(["split", "--data", str(tmp_path / "rec.npz"), "--key", "data", "--bins", "16",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    expected = split_raster(raster, (0.8, 0.1, 0.1), gap=16, n_bins=16)
    for name, part in zip(("train", "validation", "test"), expected, strict=True):
        np.testing.assert_array_equal(np.load(out / f"{name}.npy"), part)
    # the parts are in order with 16 dropped bins between them
    n_train, n_val, n_test = (len(p) for p in expected)
    assert n_train + n_val + n_test + 2 * 16 == 2000
    np.testing.assert_array_equal(np.load(out / "validation.npy"),
                                  raster[n_train + 16:n_train + 16 + n_val])
    meta = json.loads((out / "split.json").read_text())
    assert meta["gap"] == 16 and meta["fractions"] == [0.8, 0.1, 0.1]
    assert meta["source"] == str(tmp_path / "rec.npz") and meta["key"] == "data"
    assert f"wrote train.npy ({n_train}, 3), validation.npy ({n_val}, 3), test.npy " \
           f"({n_test}, 3) to {out} (split in time, 16-bin gaps" in printed

    # the README's evaluate example with these files
    fake = (np.random.default_rng(1).random((300, 3, 16)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "samples.npy", fake)
    assert main(["evaluate", "--real", str(out / "train.npy"), "--bins", "16", "--generated",
                 str(tmp_path / "samples.npy"), "--noise-floor", str(out / "test.npy"),
                 "--train", str(out / "train.npy"), "--no-figures", "--n-memorization", "50",
                 "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "results.json").is_file()


def test_split_windows_by_sample_into_two_parts(tmp_path, capsys):
    windows = (np.random.default_rng(0).random((100, 3, 8)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "w.npy", windows)
    out = tmp_path / "s"
    assert main(["split", "--data", str(tmp_path / "w.npy"), "--fractions", "0.7,0.3",
                 "--seed", "4", "--out", str(out)]) == 0
    train, test = split_windows(windows, (0.7, 0.3), seed=4)
    np.testing.assert_array_equal(np.load(out / "train.npy"), train)
    np.testing.assert_array_equal(np.load(out / "test.npy"), test)
    assert not (out / "validation.npy").exists()
    assert "by sample, seed 4" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--bins", "8", "--fractions", "0.8,0.3"], "`--fractions` must be numbers that sum to 1"),
    (["--bins", "8", "--fractions", "1"], "`--fractions` must give 2 (train,test) or 3"),
    ([], "`--bins` is required"),
])
def test_split_errors_are_one_line(tmp_path, capsys, argv, message):
    np.save(tmp_path / "r.npy", np.zeros((100, 2), np.uint8))
    status = main(["split", "--data", str(tmp_path / "r.npy"), "--out", str(tmp_path / "o"),
                   *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()  # nothing half-written
