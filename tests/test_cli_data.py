"""`spikegan simulate` and `spikegan info` end to end, through the real dispatcher."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data import load_spikes


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(err: str, prog: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"spikegan {prog}: error: ")
    return lines[0]


def test_simulate_uniform_then_info(tmp_path, capsys):
    out_file = tmp_path / "u.npz"
    status, out, err = _run(capsys, "simulate", "uniform", "--neurons", "8", "--bins", "16",
                            "--samples", "200", "--seed", "3", "--group-size", "2",
                            "--out", str(out_file))
    assert status == 0, err
    assert f"wrote 200 samples of uniform (8 neurons x 16 bins, seed 3) to {out_file}" in out
    rec = load_spikes(out_file)
    assert rec.spikes.shape == (200, 8, 16) and rec.key == "spikes"
    assert rec.extras["group"].tolist().count(0) == 2

    status, out, err = _run(capsys, "info", str(out_file), "--bin-width", "0.001")
    assert status == 0, err
    assert "layout:      windows (samples, neurons, bins) = (200, 8, 16)" in out
    assert "format:      .npz, key 'spikes'" in out
    rate = rec.spikes.mean()
    assert f"firing probability per bin: mean {rate:.4g}" in out
    assert f"firing rate: mean {rate / 0.001:.4g} spikes/s" in out
    assert f"sparsity:    {100 * (1 - rate):.2f}% of entries are 0" in out
    assert "simulated:   uniform (n_samples=200, n_neurons=8" in out


def test_simulate_packets_two_modes(tmp_path, capsys):
    out_file = tmp_path / "p.npz"
    status, out, err = _run(capsys, "simulate", "packets", "--modes", "2", "--neurons", "12",
                            "--bins", "16", "--group-size", "8", "--samples", "50",
                            "--out", str(out_file))
    assert status == 0, err
    rec = load_spikes(out_file)
    assert rec.extras["packet_mask"].sum() == 50 * 8
    assert rec.extras["packet_mode"].shape == (50,)


def test_info_on_a_raster_file(tmp_path, capsys):
    raster = np.zeros((6, 2), np.uint8)
    raster[[0, 3], 0] = 1  # neuron 0 fires in 2 of 6 bins, neuron 1 is silent
    np.save(tmp_path / "r.npy", raster.T)  # stored (neurons, time)
    status, out, err = _run(capsys, "info", str(tmp_path / "r.npy"))
    assert status == 0
    assert "layout:      raster (time bins, neurons) = (2, 6)" in out
    assert "pass --neurons-first" in out  # the loader notices the likely transposition
    status, out, err = _run(capsys, "info", str(tmp_path / "r.npy"), "--neurons-first")
    assert "layout:      raster (time bins, neurons) = (6, 2)" in out
    assert "neurons-first" not in out
    assert "firing probability per bin: mean 0.1667, min 0 (neuron 1), max 0.3333 (neuron 0)" in out
    assert "1 silent neurons" in out
    assert "bin width unknown" in out


def test_info_on_a_csv_of_spike_times(tmp_path, capsys):
    p = tmp_path / "t.csv"
    p.write_text("time,unit\n0.00,1\n0.03,1\n0.031,1\n")
    status, out, err = _run(capsys, "info", str(p), "--bin-width", "0.01")
    assert status == 2
    line = _one_line_error(err, "info")
    assert "Unit 1 has 2 spikes in bin 3" in line and "--clip" in line
    status, out, err = _run(capsys, "info", str(p), "--bin-width", "0.01", "--clip")
    assert status == 0, err
    assert "layout:      raster (time bins, neurons) = (4, 1)" in out
    assert "spikes:      2 in all: 1 neurons x 4 bins each (2 per neuron on average)" in out


@pytest.mark.parametrize(
    "setup, argv, expected",
    [
        (lambda d: (d / "x.npy").write_text("0,1\n"), ["info", "{d}/x.npy"],
         "is not a NumPy .npy file: it looks like text"),
        (lambda d: None, ["info", "{d}/missing.npz"], "No such file: '{d}/missing.npz'"),
        (lambda d: np.savez(d / "m.npz", a=np.eye(3), b=np.eye(3)), ["info", "{d}/m.npz"],
         "pass one of a, b as the key (--key)"),
        (lambda d: np.savez(d / "m.npz", a=np.eye(3)), ["info", "{d}/m.npz", "--key", "z"],
         "Key 'z' not found"),
        (lambda d: np.save(d / "v.npy", np.array([[0, 1], [2, 5]])), ["info", "{d}/v.npy"],
         "Received values {0, 1, 2, 5} in file"),
        (lambda d: (d / "t.csv").write_text("0.1,1\n"), ["info", "{d}/t.csv"],
         "give `bin_width`"),
        (lambda d: (d / "x.txt").write_text("0"), ["info", "{d}/x.txt"],
         "unknown extension '.txt'"),
        # a remainder group is allowed (issue 12 item 16); a group larger than all is not
        (lambda d: None, ["simulate", "uniform", "--neurons", "10", "--group-size", "12",
                          "--out", "{d}/u.npz"],
         "`--group-size` (12) must be at most `--neurons` (10)"),
        (lambda d: None, ["simulate", "packets", "--modes", "2", "--packet-prob", "0.1",
                          "--out", "{d}/p.npz"], "Remove `--packet-prob`"),
        (lambda d: None, ["simulate", "uniform", "--out", "{d}/u.npy"],
         "`--out` must be a .npz file"),
        (lambda d: None, ["simulate", "uniform", "--firing-rate", "2", "--out", "{d}/u.npz"],
         "`--firing-rate` must be a probability in (0, 1]"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, setup, argv, expected):
    setup(tmp_path)
    argv = [a.format(d=tmp_path) for a in argv]
    status, out, err = _run(capsys, *argv)
    assert status == 2
    line = _one_line_error(err, argv[0])
    assert expected.replace("{d}", str(tmp_path)) in line


def test_missing_required_option_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "uniform"])
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err
