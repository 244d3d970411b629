"""Conditions from the columns of a CSV trials table: the reader, its errors, `spikegan train`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data import SpikeRecording, load_spikes, read_trials_table
from spikegan_tf.data.splits import prepare_data
from spikegan_tf.data.trials import table_conditions
from spikegan_tf.errors import ConfigError, SpikeDataError

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--quiet"]
N, NEURONS, BINS = 48, 4, 8


def _write(path, text):
    path.write_text(text)
    return str(path)


def _table(n=N):
    rows = [f"{i},{['left', 'right'][i % 2]},{i % 3},{0.1 * i:.1f},{i % 2}" for i in range(n)]
    return "trial,stimulus,orientation,speed,contrast\n" + "\n".join(rows) + "\n"


def _windows(n=N):
    spikes = (np.random.default_rng(0).random((n, NEURONS, BINS)) < 0.2).astype(np.uint8)
    return SpikeRecording(spikes, kind="windows")


# --- the reader --------------------------------------------------------------------------


def test_integer_labels_become_ints_and_others_stay_strings(tmp_path):
    p = _write(tmp_path / "t.csv", _table())
    ints = read_trials_table(p, "orientation")
    assert ints["labels"].dtype == np.int64 and ints["labels"][:4].tolist() == [0, 1, 2, 0]
    names = read_trials_table(p, "stimulus")
    assert names["labels"].dtype.kind == "U" and names["labels"][:2].tolist() == ["left", "right"]
    mixed = read_trials_table(_write(tmp_path / "m.csv", "s\n1\n2\n2.5\n"), "s")["labels"]
    assert mixed.tolist() == ["1", "2", "2.5"]  # not every one an integer: strings
    assert set(read_trials_table(p, "stimulus")) == {"labels"}


def test_several_covariate_columns_in_the_order_given(tmp_path):
    p = _write(tmp_path / "t.csv", _table())
    got = read_trials_table(p, covariate_columns="contrast, speed")["covariates"]
    assert got.shape == (N, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got[3], [1.0, 0.3])
    same = read_trials_table(p, covariate_columns=["contrast", "speed"])["covariates"]
    np.testing.assert_array_equal(got, same)


def test_quoting_bom_spaces_and_blank_lines(tmp_path):
    p = tmp_path / "q.csv"
    p.write_bytes('\ufeffname, x \n"a, b", 1\n\n"c",2\n\n'.encode())
    got = read_trials_table(str(p), "name", "x")
    assert got["labels"].tolist() == ["a, b", "c"] and got["covariates"].ravel().tolist() == [1, 2]


def test_windows_get_trial_covariates_constant_over_their_bins(tmp_path):
    p = _write(tmp_path / "t.csv", _table())
    cond = table_conditions(p, _windows(), "stimulus", "speed,contrast")
    assert cond["covariates"].shape == (N, BINS, 2)
    np.testing.assert_allclose(cond["covariates"][5], np.tile([0.5, 1.0], (BINS, 1)))
    data = prepare_data(_windows(), BINS, conditions=cond, val_fraction=0.25)
    assert data.conditions.classes == ("left", "right") and data.conditions.n_covariates == 2


def test_a_raster_takes_one_row_per_time_bin(tmp_path):
    labels = [0] * 40 + [1] * 40
    p = _write(tmp_path / "r.csv", "stim,speed\n" + "".join(f"{s},{i}\n"
                                                            for i, s in enumerate(labels)))
    spikes = (np.random.default_rng(1).random((80, 3)) < 0.2).astype(np.uint8)
    raster = SpikeRecording(spikes, kind="raster")
    cond = table_conditions(p, raster, "stim", "speed")
    assert cond["labels"].shape == (80,) and cond["covariates"].shape == (80, 1)
    data = prepare_data(raster, 8, conditions=cond, val_fraction=0.25)
    assert data.conditions.classes == (0, 1)


# --- errors: one line, naming the table ---------------------------------------------------


def _one_line(exc_info, *parts):
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, msg
    return msg


@pytest.mark.parametrize("text, args, parts", [
    (None, ("stimulus",), ["Cannot read trials table", "nope.csv", "No such file"]),
    ("", ("stimulus",), ["is empty", "Expected a header row"]),
    ("stimulus,speed\n", ("stimulus",), ["has a header but no data row"]),
    ("stimulus,speed\na,1\n", ("trial_type",),
     ["Column 'trial_type' (--condition-key) not found in trials table",
      "Columns present: stimulus, speed."]),
    ("stimulus,speed\na,1\n", ("stimulus", "speed,accel"),
     ["Column 'accel' (--covariate-key) not found", "Columns present: stimulus, speed."]),
    ("stimulus,speed\na,1\nb,\n", ("stimulus", "speed"),
     ["Column 'speed' (--covariate-key) of trials table", "is empty in data row 2 (line 3)",
      "Expected a finite number in every row."]),
    ("stimulus,speed\na,1\n\nb,fast\n", ("stimulus", "speed"),
     ["holds 'fast', which is not a number in data row 2 (line 4)"]),
    ("stimulus,speed\na,nan\n", ("stimulus", "speed"),
     ["holds 'nan', which is NaN or infinite in data row 1 (line 2)"]),
    ("stimulus,speed\na,1\n,2\n", ("stimulus",),
     ["Column 'stimulus' (--condition-key) of trials table", "is empty in data row 2 (line 3)",
      "Expected a label"]),
    ("stimulus,speed\nNaN,1\n", ("stimulus",), ["holds 'NaN' in data row 1 (line 2)"]),
    ("stimulus,speed\na,1\nb\n", ("stimulus",),
     ["has 1 values on line 3 where its header (line 1) has 2 columns"]),
    ("s,s\na,b\n", ("s",), ["has 2 columns named 's' (--condition-key)"]),
])
def test_reader_errors(tmp_path, text, args, parts):
    path = str(tmp_path / "nope.csv") if text is None else _write(tmp_path / "t.csv", text)
    with pytest.raises(SpikeDataError) as exc_info:
        read_trials_table(path, *args)
    _one_line(exc_info, *parts, path)


def test_a_binary_file_is_not_a_table(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"\x89PNG\xff\xfe\x00\x01")
    with pytest.raises(SpikeDataError) as exc_info:
        read_trials_table(str(p), "x")
    _one_line(exc_info, "is not a text CSV file", str(p))


def test_no_column_named_is_a_config_error(tmp_path):
    p = _write(tmp_path / "t.csv", _table())
    with pytest.raises(ConfigError) as exc_info:
        read_trials_table(p)
    _one_line(exc_info, "Name the columns of trials table", p)
    with pytest.raises(ConfigError) as exc_info:
        read_trials_table(p, covariate_columns="speed,")
    _one_line(exc_info, "`--covariate-key` must name columns", "'speed,'")


def test_row_count_must_match_the_windows_or_time_bins(tmp_path):
    p = _write(tmp_path / "t.csv", _table(N - 1))
    np.savez(tmp_path / "w.npz", spikes=_windows().spikes)
    with pytest.raises(SpikeDataError) as exc_info:
        table_conditions(p, load_spikes(str(tmp_path / "w.npz")), "stimulus")
    _one_line(exc_info, f"Trials table '{p}' has {N - 1} rows but the spike file",
              f"w.npz' holds {N} windows. Expected one row per window")
    raster = SpikeRecording(np.zeros((50, 3), np.uint8), kind="raster")
    with pytest.raises(SpikeDataError) as exc_info:
        table_conditions(p, raster, "stimulus")
    _one_line(exc_info, f"has {N - 1} rows but the spikes hold 50 time bins",
              "one row per time bin")


def test_an_unknown_label_names_the_table(tmp_path):
    p = _write(tmp_path / "t.csv", _table())
    with pytest.raises(SpikeDataError) as exc_info:
        table_conditions(p, _windows(), "stimulus", classes=["left", "up"])
    _one_line(exc_info, "holds the label 'right', which is not one of the classes", p)


# --- spikegan train ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("trials")
    np.savez(d / "w.npz", spikes=_windows().spikes)
    _write(d / "trials.csv", _table())
    status = main(["train", "--data", str(d / "w.npz"), "--trials-table", str(d / "trials.csv"),
                   "--condition-key", "stimulus", "--covariate-key", "speed,contrast",
                   "--out", str(d / "run"), "--max-steps", "2", "--eval-every", "2", *TINY])
    assert status == 0
    return d


def test_train_records_the_table_and_conditions_reach_the_model(run, capsys):
    cfg = json.loads((run / "run" / "config.json").read_text())
    assert cfg["model"]["n_classes"] == 2 and cfg["model"]["n_covariates"] == 2
    assert cfg["data"]["conditions"] == {"classes": ["left", "right"], "n_covariates": 2}
    assert cfg["data"]["trials_table"] == str(run / "trials.csv")
    assert cfg["data"]["condition_key"] == "stimulus"
    assert cfg["data"]["covariate_key"] == "speed,contrast"


def test_resume_reads_the_same_table(run, capsys):
    assert main(["train", "--out", str(run / "run"), "--resume", "--more-steps", "1",
                 "--quiet"]) == 0
    assert "stopped at step 3" in capsys.readouterr().out


def test_resume_says_when_the_table_moved(run, capsys):
    table, moved = run / "trials.csv", run / "moved.csv"
    resume = ["train", "--out", str(run / "run"), "--resume", "--more-steps", "1", "--quiet"]
    table.rename(moved)
    try:
        status = main(resume)
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1
        assert f"its trials table '{table}' is not there any more" in err
        assert "pass its new path with --trials-table" in err
        assert main([*resume, "--trials-table", str(moved)]) == 0
        assert "note: the trials table moved" in capsys.readouterr().err
    finally:
        moved.rename(table)


@pytest.mark.parametrize("rows, extra, message", [
    (N, [], "`--trials-table` needs `--condition-key` (its label column) and/or "
            "`--covariate-key`"),
    (N, ["--condition-key", "stim"], "Column 'stim' (--condition-key) not found in trials table"),
    (N - 1, ["--condition-key", "stimulus"], f"has {N - 1} rows but the spike file"),
])
def test_train_refuses_a_bad_table_in_one_line(run, capsys, rows, extra, message):
    table = _write(run / f"table{rows}.csv", _table(rows))
    status = main(["train", "--data", str(run / "w.npz"), "--trials-table", table,
                   *extra, "--out", str(run / "bad"), "--max-steps", "1", *TINY])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (run / "bad").exists()
