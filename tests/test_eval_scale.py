"""Evaluation at scale: the chunked binary check, memory-mapped windows and ``pair_windows``
through compare(), evaluate() and ``spikegan evaluate --pair-windows``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from spikegan_tf import statistics as S
from spikegan_tf import validation
from spikegan_tf.cli import main
from spikegan_tf.data import io
from spikegan_tf.data.io import load_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation import compare, evaluate
from spikegan_tf.evaluation.metrics import _metric
from spikegan_tf.statistics.result import _ARRAY_FIELDS, _INT_FIELDS, _SCALAR_FIELDS


@pytest.fixture
def small_chunks(monkeypatch):
    """Check values 100 bytes at a time, so that small arrays take many chunks."""
    monkeypatch.setattr(validation, "_CHECK_CHUNK_BYTES", 100)


def windows(rng, n=120, N=4, T=8, p=0.2):
    return (rng.random((n, N, T)) < p).astype(np.uint8)


def message(fn, *args, **kw):
    with pytest.raises(SpikeDataError) as info:
        fn(*args, **kw)
    return str(info.value)


def assert_same_statistics(a, b):
    for name in _ARRAY_FIELDS + _SCALAR_FIELDS + _INT_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.word_neurons == b.word_neurons


# ---------------------------------------------------------------------------
# check_binary in chunks
# ---------------------------------------------------------------------------


def test_chunks_cover_the_array_in_order(rng, small_chunks):
    for x in (windows(rng), np.zeros((3, 500)), np.zeros(1000, np.uint8), np.zeros((2, 2, 300))):
        parts = list(validation._chunks(x))
        assert len(parts) > 1
        assert all(p.nbytes <= 100 or p.shape == x.shape[-1:] for p in parts)
        np.testing.assert_array_equal(np.concatenate([p.ravel() for p in parts]), x.ravel())


# "@" marks where the file is named
@pytest.mark.parametrize("dtype, bad, expected", [
    (np.uint8, 2, "`generated` must be binary (0/1). Received values {0, 1, 2}@. Counts above 1 "
                  "mean more than one spike per bin: use a smaller bin width or clip explicitly."),
    (np.int16, -1, "`generated` must be binary (0/1). Received negative values; values seen: "
                   "{-1, 0, 1}@."),
    (np.float32, 0.5, "`generated` must be binary (0/1). Received fractional values; values "
                      "seen: {0, 0.5, 1}@."),
    (np.float64, np.nan, "`generated` must be finite 0/1 values. Received 1 NaN and 0 infinite "
                         "values@."),
])
def test_a_late_bad_value_in_a_memmap_is_named_as_before(rng, tmp_path, monkeypatch, dtype, bad,
                                                         expected):
    w = windows(rng).astype(dtype)
    w[-1, -1, -1] = bad
    np.save(tmp_path / "w.npy", w)
    mm = np.load(tmp_path / "w.npy", mmap_mode="r")
    whole = message(validation.check_binary, w, "generated")  # one chunk: the whole array
    monkeypatch.setattr(validation, "_CHECK_CHUNK_BYTES", 100)
    assert len(list(validation._chunks(mm))) > 10
    assert message(validation.check_binary, mm, "generated") == whole == expected.replace("@", "")
    assert message(validation.check_windows, mm, "generated", source="w.npy") == (
        expected.replace("@", " in file 'w.npy'"))


def test_many_nan_and_inf_are_counted_over_all_chunks(rng, small_chunks):
    x = windows(rng).astype(np.float64)
    x[3, 0, :3] = np.nan
    x[-1, 1, :2] = np.inf
    x[-1, 2, 0] = -np.inf
    assert message(validation.check_binary, x) == (
        "`spikes` must be finite 0/1 values. Received 3 NaN and 3 infinite values.")


def test_uint8_and_bool_memmaps_are_not_copied(rng, tmp_path, small_chunks):
    w = windows(rng)
    np.save(tmp_path / "u.npy", w)
    np.save(tmp_path / "b.npy", w.astype(bool))
    mm = np.load(tmp_path / "u.npy", mmap_mode="r")
    assert validation.check_binary(mm) is mm
    mb = np.load(tmp_path / "b.npy", mmap_mode="r")
    out = validation.check_windows(mb)
    assert isinstance(out, np.memmap) and out.dtype == np.uint8 and np.shares_memory(out, mb)
    np.testing.assert_array_equal(out, w)
    np.testing.assert_array_equal(mm, w)  # pages released after each chunk were only unmapped


def test_bool_bytes_other_than_0_1_are_normalised_as_before(small_chunks):
    raw = np.frombuffer(bytes([0, 1, 2, 255] * 100), dtype=bool).reshape(40, 10)
    out = validation.check_binary(raw)
    np.testing.assert_array_equal(out, raw.astype(np.uint8))
    assert out.max() == 1


def test_large_npy_files_are_memory_mapped(rng, tmp_path, monkeypatch, small_chunks):
    w = windows(rng)
    np.save(tmp_path / "w.npy", w)
    assert not isinstance(load_spikes(tmp_path / "w.npy").spikes, np.memmap)
    monkeypatch.setattr(io, "MMAP_MIN_BYTES", 0)
    rec = load_spikes(tmp_path / "w.npy")
    assert isinstance(rec.spikes, np.memmap) and not rec.spikes.flags.writeable
    np.testing.assert_array_equal(rec.spikes, w)
    w[100, 1, 2] = 3
    np.save(tmp_path / "bad.npy", w)
    assert message(load_spikes, tmp_path / "bad.npy") == (
        f"`spikes` must be binary (0/1). Received values {{0, 1, 3}} in file "
        f"'{tmp_path / 'bad.npy'}'. Counts above 1 mean more than one spike per bin: use a "
        "smaller bin width or clip explicitly.")
    (tmp_path / "obj.npy").write_bytes(b"\x93NUMPY not really")  # falls back to the reader
    assert "truncated or corrupt" in message(load_spikes, tmp_path / "obj.npy")


# ---------------------------------------------------------------------------
# pair_windows through compare() and evaluate()
# ---------------------------------------------------------------------------


@pytest.fixture
def sets(rng):
    raster = (rng.random((700, 4)) < 0.2).astype(np.uint8)
    return raster[:450], raster[450:], windows(rng, n=200, p=0.25), windows(rng, n=30)


@pytest.mark.parametrize("k", [1, 25, 100, 1000])
def test_compare_pair_windows_is_compute_statistics_of_each_set(sets, k):
    train, test, a, small = sets
    kw = dict(max_lag=3, word_neurons=[0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # k=1: one window, no covariance
        res = compare(train, {"a": a, "small": small}, test, n_bins=8, pair_windows=k, **kw)
        want = {"reference": S.compute_statistics(train, n_bins=8, pair_windows=k, **kw),
                "a": S.compute_statistics(a, pair_windows=k, **kw),
                "small": S.compute_statistics(small, pair_windows=k, **kw),
                "held-out": S.compute_statistics(test, n_bins=8, pair_windows=k, **kw)}
    for label, st in want.items():
        assert_same_statistics(res.statistics[label], st)
        assert st.n_pair_windows == min(k, st.n_windows)
    for label in ("a", "small", "held-out"):
        for name, m in res.metrics[label].items():
            direct = _metric(name, want["reference"], want[label])
            assert m.mae == direct.mae or (np.isnan(m.mae) and np.isnan(direct.mae)), name
            floor = _metric(name, want["reference"], want["held-out"]).mae
            if floor > 0 and np.isfinite(m.mae):
                assert m.ratio_to_floor == m.mae / floor
    note = [n for n in res.notes if n.startswith("Pairwise statistics")]
    if k >= 443:  # every set has at most k windows: all of them, nothing to say
        assert note == [] and "pairwise statistics from" not in res.to_markdown()
    else:
        n_ref = want["reference"].n_windows
        assert f"reference from {k} of {n_ref} windows" in note[0]
        assert "small from all 30 windows" in note[0] or k < 30
        assert f"pairwise statistics from {k} of {n_ref} windows" in res.to_markdown()
        assert res.to_dict()["n_pair_windows"]["a"] == min(k, 200)


def test_pair_windows_is_checked(sets):
    train, test, a, _ = sets
    with pytest.raises(ConfigError, match=r"^`pair_windows` must be an integer >= 1 or None\. Received 0\.$"):
        compare(train, {"a": a}, n_bins=8, pair_windows=0)
    with pytest.raises(ConfigError, match=r"^`pair_windows`"):
        evaluate(train, {"a": a}, n_bins=8, pair_windows=2.5)
    full = S.compute_statistics(a, max_lag=3)
    with pytest.raises(ConfigError, match=r"^`a` holds statistics whose pairwise statistics "
                                          r"come from 200 of 200 windows, but pair_windows=50"):
        compare(train, {"a": full}, n_bins=8, max_lag=3, pair_windows=50)
    sub = S.compute_statistics(a, max_lag=3, pair_windows=50)
    res = compare(train, {"a": sub}, n_bins=8, max_lag=3, pair_windows=50)
    assert res.statistics["a"] is sub


def test_memmapped_windows_evaluate_like_the_array(sets, tmp_path, small_chunks):
    train, test, a, _ = sets
    np.save(tmp_path / "a.npy", a)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    kw = dict(noise_floor=test, train=train, n_bins=8, max_lag=3, n_memorization=20,
              figures=False, pair_windows=60)
    got = evaluate(train, {"a": mm}, out_dir=tmp_path / "mm", **kw)
    want = evaluate(train, {"a": a}, out_dir=tmp_path / "mem", **kw)
    assert got.to_dict() == want.to_dict()
    assert_same_statistics(got.statistics["a"], want.statistics["a"])
    assert (tmp_path / "mm" / "report.md").read_text() == (tmp_path / "mem" / "report.md").read_text()


# ---------------------------------------------------------------------------
# spikegan evaluate --pair-windows, and memory-mapped .npy files
# ---------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path, sets):
    train, test, a, _ = sets
    paths = {"train": tmp_path / "train.npy", "test": tmp_path / "test.npy",
             "a": tmp_path / "model_a.npy"}
    np.save(paths["train"], train)
    np.save(paths["test"], test)
    np.save(paths["a"], a)
    return paths


def _evaluate(capsys, files, out, *extra):
    status = main([str(x) for x in (
        "evaluate", "--real", files["train"], "--bins", 8, "--noise-floor", files["test"],
        "--generated", files["a"], "--train", files["train"], "--max-lag", 3,
        "--n-memorization", 20, "--no-figures", "--out", out, *extra)])
    _, err = capsys.readouterr()
    return status, err


def test_cli_pair_windows_reaches_the_report(files, tmp_path, capsys):
    status, err = _evaluate(capsys, files, tmp_path / "eval", "--pair-windows", 100)
    assert status == 0, err
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "pairwise statistics from 100 of 443 windows" in report
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["n_pair_windows"] == {"real (train.npy)": 100, "model_a": 100,
                                       "held-out (test.npy)": 100}
    assert saved["n_windows"] == {"real (train.npy)": 443, "model_a": 200,
                                  "held-out (test.npy)": 243}
    note = next(n for n in saved["notes"] if n.startswith("Pairwise statistics"))
    assert "real (train.npy) from 100 of 443 windows" in note and "pair_windows=100" in note
    assert f"- {note}" in report
    # the covariance error is the one computed from 100 windows of each set
    ref = S.compute_statistics(np.load(files["train"]), n_bins=8, max_lag=3, pair_windows=100)
    a = S.compute_statistics(np.load(files["a"]), max_lag=3, word_neurons=ref.word_neurons,
                             pair_windows=100)
    assert saved["results"]["model_a"]["covariance"]["mae"] == _metric("covariance", ref, a).mae


def test_cli_pair_windows_is_validated(files, tmp_path, capsys):
    for bad in ("0", "x"):
        status, err = _evaluate(capsys, files, tmp_path / "eval", "--pair-windows", bad)
        lines = err.strip().splitlines()
        assert status == 2 and len(lines) == 1 and "Traceback" not in err
        assert "`--pair-windows` must be an integer >= 1. Received" in lines[0]


def test_cli_memory_mapped_npy_gives_the_same_results(files, tmp_path, capsys, monkeypatch,
                                                      small_chunks):
    assert _evaluate(capsys, files, tmp_path / "mem", "--pair-windows", 90)[0] == 0
    monkeypatch.setattr(io, "MMAP_MIN_BYTES", 0)  # every .npy file memory-mapped
    loaded = []
    real_load = io.load_spikes

    def spy(*args, **kw):
        rec = real_load(*args, **kw)
        loaded.append(isinstance(rec.spikes, np.memmap))
        return rec

    monkeypatch.setattr("spikegan_tf.data.load_spikes", spy)
    assert _evaluate(capsys, files, tmp_path / "mm", "--pair-windows", 90)[0] == 0
    assert loaded and all(loaded)
    for name in ("results.json", "report.md"):
        assert (tmp_path / "mm" / name).read_text() == (tmp_path / "mem" / name).read_text()
