"""Every loader on tiny files written here, and every bad input with its message."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.data import SpikeRecording, load_spikes, raster_from_spike_times
from spikegan_tf.errors import ConfigError, SpikeDataError

RASTER = np.array(
    [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=np.uint8
)  # 5 time bins x 3 neurons


def _write_mat73(path, variables):
    """Write a MATLAB v7.3 file the way MATLAB does: HDF5, 512-byte user block with the
    MATLAB header, column-major data (h5py sees each array transposed), MATLAB_class."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, (value, mclass) in variables.items():
            if mclass == "struct":
                grp = fh.create_group(name)
                grp.attrs["MATLAB_class"] = np.bytes_("struct")
                for field, v in value.items():
                    ds = grp.create_dataset(field, data=np.asarray(v).T)
                    ds.attrs["MATLAB_class"] = np.bytes_("double")
            elif mclass == "cell":
                refs = fh.create_group("#refs#")
                target = refs.create_dataset("a", data=np.zeros((2, 2)))
                ds = fh.create_dataset(name, (1, 1), dtype=h5py.ref_dtype)
                ds[0, 0] = target.ref
                ds.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                ds = fh.create_dataset(name, data=np.asarray(value).T)
                ds.attrs["MATLAB_class"] = np.bytes_(mclass)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")


# ----------------------------------------------------------------------------- good files


def test_npy_raster_and_layout(tmp_path):
    p = tmp_path / "r.npy"
    np.save(p, RASTER.astype(np.float64))
    rec = load_spikes(p, bin_width=0.01)
    assert isinstance(rec, SpikeRecording)
    assert rec.kind == "raster" and rec.is_raster and rec.n_neurons == 3
    assert rec.spikes.dtype == np.uint8
    np.testing.assert_array_equal(rec.spikes, RASTER)
    assert rec.source == str(p) and rec.key is None and rec.bin_width == 0.01
    assert rec.extras == {}


def test_npy_neurons_first_is_transposed(tmp_path):
    p = tmp_path / "r.npy"
    np.save(p, RASTER.T)
    np.testing.assert_array_equal(load_spikes(p, neurons_first=True).spikes, RASTER)


def test_npy_windows(tmp_path):
    w = np.zeros((4, 3, 8), np.uint8)
    w[1, 2, 5] = 1
    np.save(tmp_path / "w.npy", w)
    rec = load_spikes(tmp_path / "w.npy")
    assert rec.kind == "windows" and not rec.is_raster and rec.n_neurons == 3
    np.testing.assert_array_equal(rec.spikes, w)


def test_npz_key_rules(tmp_path):
    only = tmp_path / "only.npz"
    np.savez(only, data=RASTER)
    rec = load_spikes(only)
    assert rec.key == "data"
    np.testing.assert_array_equal(rec.spikes, RASTER)

    several = tmp_path / "sim.npz"
    np.savez(several, spikes=RASTER, packet_mask=RASTER * 0, other=RASTER[::-1])
    rec = load_spikes(several)
    assert rec.key == "spikes"
    assert set(rec.extras) == {"packet_mask", "other"}
    rec = load_spikes(several, key="other")
    np.testing.assert_array_equal(rec.spikes, RASTER[::-1])


def test_units_select_neurons_of_an_array(tmp_path):
    np.save(tmp_path / "r.npy", RASTER)
    rec = load_spikes(tmp_path / "r.npy", units=[2, 0])
    np.testing.assert_array_equal(rec.spikes, RASTER[:, [2, 0]])
    with pytest.raises(ConfigError, match=r"neuron indices in \[0, 2\]"):
        load_spikes(tmp_path / "r.npy", units=[3])


def test_clip_turns_counts_into_spikes(tmp_path):
    counts = RASTER.astype(np.int32) * 2
    np.save(tmp_path / "c.npy", counts)
    with pytest.raises(SpikeDataError, match=r"Received values \{0, 2\}.*more than one spike"):
        load_spikes(tmp_path / "c.npy")
    np.testing.assert_array_equal(load_spikes(tmp_path / "c.npy", clip=True).spikes, RASTER)


def test_mat_v5(tmp_path):
    import scipy.io
    import scipy.sparse

    p = tmp_path / "v5.mat"
    scipy.io.savemat(p, {"data": RASTER.astype(bool), "fs": np.array([[1000.0]])})
    rec = load_spikes(p, key="data")
    np.testing.assert_array_equal(rec.spikes, RASTER)
    assert rec.key == "data" and "fs" in rec.extras

    p2 = tmp_path / "sparse.mat"
    scipy.io.savemat(p2, {"raster": scipy.sparse.csc_matrix(RASTER.astype(float))})
    np.testing.assert_array_equal(load_spikes(p2).spikes, RASTER)


def test_mat_v73_column_major(tmp_path):
    p = tmp_path / "v73.mat"
    windows = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 2
    _write_mat73(p, {"data": (RASTER, "logical"), "win": (windows, "double")})
    rec = load_spikes(p, key="data")
    assert rec.spikes.shape == (5, 3)  # MATLAB's (time, neurons), not h5py's transpose
    np.testing.assert_array_equal(rec.spikes, RASTER)
    rec = load_spikes(p, key="win")
    assert rec.kind == "windows"
    np.testing.assert_array_equal(rec.spikes, windows)


def test_csv_spike_times(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("time,unit\n0.012,5\n0.000,2\n0.031,2\n0.049,5\n")
    rec = load_spikes(p, bin_width=0.01)
    # bins of 10 ms from 0: unit 2 -> column 0 (bins 0, 3), unit 5 -> column 1 (bins 1, 4)
    expected = np.zeros((5, 2), np.uint8)
    expected[[0, 3], 0] = 1
    expected[[1, 4], 1] = 1
    np.testing.assert_array_equal(rec.spikes, expected)
    np.testing.assert_array_equal(rec.extras["unit_ids"], [2, 5])
    assert rec.bin_width == 0.01

    sel = load_spikes(p, bin_width=0.01, units=[5], start=0.0, stop=0.08)
    assert sel.spikes.shape == (8, 1)
    assert sel.spikes[:, 0].nonzero()[0].tolist() == [1, 4]

    one = tmp_path / "one.csv"
    one.write_text("0.5\n0.1\n")
    # time 0 is the origin (issue 12 item 3): 0.1 s is bin 1, not bin 0
    assert load_spikes(one, bin_width=0.1).spikes[:, 0].tolist() == [0, 1, 0, 0, 0, 1]


def test_nwb_units_table(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from datetime import datetime, timezone

    nwbfile = pynwb.NWBFile(
        session_description="test", identifier="t1",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    nwbfile.add_unit(id=10, spike_times=[0.0, 0.25])
    nwbfile.add_unit(id=11, spike_times=[0.1])
    nwbfile.add_unit(id=12, spike_times=[0.31, 0.45])
    p = tmp_path / "t.nwb"
    with pynwb.NWBHDF5IO(str(p), "w") as io:
        io.write(nwbfile)
    rec = load_spikes(p, bin_width=0.1)
    np.testing.assert_array_equal(rec.extras["unit_ids"], [10, 11, 12])
    assert rec.spikes.T.tolist() == [[1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 1]]
    sel = load_spikes(p, bin_width=0.1, units=[12, 10])
    assert sel.spikes.T.tolist() == [[0, 0, 0, 1, 1], [1, 0, 1, 0, 0]]
    with pytest.raises(SpikeDataError, match=r"Unit\(s\) 99 not found in the Units table of NWB file .* Units present: 10, 11, 12"):
        load_spikes(p, bin_width=0.1, units=[99])
    with pytest.raises(ConfigError, match="give `bin_width`"):
        load_spikes(p)
    fake = tmp_path / "fake.nwb"
    fake.write_text("not hdf5")
    with pytest.raises(SpikeDataError, match="is not an NWB file"):
        load_spikes(fake, bin_width=0.1)
    no_units = tmp_path / "empty.nwb"
    with pytest.raises(SpikeDataError, match="has no Units table"):
        with pynwb.NWBHDF5IO(str(no_units), "w") as io:
            io.write(pynwb.NWBFile(session_description="e", identifier="e",
                                   session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc)))
        load_spikes(no_units, bin_width=0.1)


# ----------------------------------------------------------------------------- spike times


def test_raster_from_spike_times_hand_counted():
    r = raster_from_spike_times([0.3, 0.05, 0.15], [1, 0, 0], bin_width=0.1, start=0.0)
    # 0.3 s falls in bin 3 despite 0.3 / 0.1 == 2.9999999999999996
    assert r.tolist() == [[1, 0], [1, 0], [0, 0], [0, 1]]
    per_unit = raster_from_spike_times([[0.0], [0.1, 0.2]], bin_width=0.1)
    assert per_unit.tolist() == [[1, 0], [0, 1], [0, 1]]
    cropped = raster_from_spike_times([0.05, 0.15, 0.95], bin_width=0.1, start=0.1, stop=0.3)
    assert cropped.tolist() == [[1], [0]]  # spikes outside [start, stop) are dropped
    wide = raster_from_spike_times([0.0], [0], bin_width=1.0, n_units=3, stop=2.0)
    assert wide.tolist() == [[1, 0, 0], [0, 0, 0]]


def test_several_spikes_in_a_bin_raise_unless_clipped():
    with pytest.raises(SpikeDataError) as info:
        raster_from_spike_times([0.01, 0.5, 0.52, 0.53], [0, 1, 1, 1], bin_width=0.1)
    msg = str(info.value)
    assert "Unit 1 has 3 spikes in bin 5 (0.5 to 0.6 s)" in msg
    assert "clip=True" in msg and "bin width smaller than 0.1 s" in msg
    r = raster_from_spike_times([0.01, 0.5, 0.52, 0.53], [0, 1, 1, 1], bin_width=0.1, clip=True)
    assert r[:, 1].tolist() == [0, 0, 0, 0, 0, 1] and r.sum() == 2


def test_bad_spike_times():
    with pytest.raises(SpikeDataError, match="must be finite. Received 1 NaN"):
        raster_from_spike_times([0.1, np.nan], bin_width=0.1)
    with pytest.raises(SpikeDataError, match=r"Unit indices must lie in \[0, 1\]"):
        raster_from_spike_times([0.1], [2], bin_width=0.1, n_units=2)
    with pytest.raises(SpikeDataError, match="one unit per spike time"):
        raster_from_spike_times([0.1, 0.2], [0], bin_width=0.1)
    with pytest.raises(ConfigError, match="`bin_width` must be a number of seconds > 0"):
        raster_from_spike_times([0.1], bin_width=0)
    with pytest.raises(ConfigError, match="`stop` must be greater than `start`"):
        raster_from_spike_times([0.1], bin_width=0.1, start=1.0, stop=0.5)


# ----------------------------------------------------------------------------- bad files


def test_missing_file_directory_and_unknown_extension(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_spikes(tmp_path / "nope.npy")
    with pytest.raises(IsADirectoryError):
        load_spikes(tmp_path)
    (tmp_path / "x.h5ad").write_bytes(b"\x00")
    with pytest.raises(SpikeDataError, match=r"unknown extension '\.h5ad'. Expected one of "
                       r"\.npy, \.npz, \.mat, \.csv, \.nwb"):
        load_spikes(tmp_path / "x.h5ad")


def test_text_posing_as_npy(tmp_path):
    p = tmp_path / "fake.npy"
    p.write_text("0,1,0\n1,0,1\n")
    with pytest.raises(SpikeDataError, match=r"'.*fake.npy' is not a NumPy .npy file: it looks "
                       r"like text starting '0,1,0'"):
        load_spikes(p)
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    with pytest.raises(SpikeDataError, match="the file is empty"):
        load_spikes(empty)


def test_truncated_npy_and_npz(tmp_path):
    full = tmp_path / "full.npy"
    np.save(full, np.zeros((100, 5)))
    (tmp_path / "cut.npy").write_bytes(full.read_bytes()[:200])
    with pytest.raises(SpikeDataError, match=r"cut.npy'.*truncated or corrupt"):
        load_spikes(tmp_path / "cut.npy")
    np.savez(tmp_path / "full.npz", spikes=np.zeros((100, 5)))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "full.npz").read_bytes()[:150])
    with pytest.raises(SpikeDataError, match=r"cut.npz' is a truncated or corrupt .npz"):
        load_spikes(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(SpikeDataError, match="is not a NumPy .npz archive"):
        load_spikes(tmp_path / "text.npz")


def test_object_arrays_are_never_unpickled(tmp_path):
    obj = np.array([[0, 1], [1, 0]], dtype=object)
    np.save(tmp_path / "o.npy", obj, allow_pickle=True)
    with pytest.raises(SpikeDataError, match=r"Python object array \(pickled data\), which is "
                       r"never loaded \(allow_pickle=False\)"):
        load_spikes(tmp_path / "o.npy")
    np.savez(tmp_path / "o.npz", spikes=obj, fine=RASTER)
    with pytest.raises(SpikeDataError, match=r"array 'spikes' .* object array"):
        load_spikes(tmp_path / "o.npz")
    assert load_spikes(tmp_path / "o.npz", key="fine").spikes.shape == (5, 3)


def test_several_arrays_and_no_key_list_the_keys(tmp_path):
    np.savez(tmp_path / "m.npz", a=RASTER, b=RASTER)
    with pytest.raises(SpikeDataError, match=r"holds several arrays and no key was given: pass "
                       r"one of a, b as the key"):
        load_spikes(tmp_path / "m.npz")
    with pytest.raises(SpikeDataError, match=r"Key 'c' not found in file .* Keys present: a, b"):
        load_spikes(tmp_path / "m.npz", key="c")


@pytest.mark.parametrize(
    "array, message",
    [
        (np.array([[0, 1], [3, 1]]), r"`spikes` must be binary \(0/1\). Received values \{0, 1, 3\} "
         r"in file '.*bad.npz'"),
        (np.array([[0.0, np.nan]]), "1 NaN and 0 infinite values in file"),
        (np.array([[0, -1]]), "Received negative values"),
        (np.array([[0.0, 0.5]]), "Received fractional values"),
        (np.array([[0, 1j]]), "Received a complex array"),
        (np.zeros(5), r"must have 2 dimensions .* or 3 .* Received shape \(5,\) .* A single "
         r"neuron's raster must be stored as \(n_time_bins, 1\)"),
        (np.zeros((2, 2, 2, 2)), r"Received shape \(2, 2, 2, 2\) \(4 dimensions\)"),
        (np.zeros((0, 4)), r"must not be empty. Received shape \(0, 4\)"),
    ],
)
def test_bad_values_in_files(tmp_path, array, message):
    np.savez(tmp_path / "bad.npz", spikes=array)
    with pytest.raises(SpikeDataError, match=message):
        load_spikes(tmp_path / "bad.npz")


def test_bad_mat_files(tmp_path):
    import scipy.io

    p = tmp_path / "s.mat"
    scipy.io.savemat(p, {"rec": {"spikes": RASTER, "fs": 1000.0}})
    with pytest.raises(SpikeDataError, match=r"'rec' in MATLAB file .* is a MATLAB struct "
                       r"\(fields: spikes, fs\)"):
        load_spikes(p)
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = RASTER, RASTER
    scipy.io.savemat(tmp_path / "c.mat", {"c": cell})
    with pytest.raises(SpikeDataError, match="is a MATLAB cell array or object"):
        load_spikes(tmp_path / "c.mat")
    scipy.io.savemat(tmp_path / "t.mat", {"name": "abc"})
    with pytest.raises(SpikeDataError, match=r"is text \(MATLAB char\)"):
        load_spikes(tmp_path / "t.mat")

    good = tmp_path / "good.mat"
    scipy.io.savemat(good, {"data": np.zeros((200, 20))})
    (tmp_path / "cut.mat").write_bytes(good.read_bytes()[:300])
    with pytest.raises(SpikeDataError, match=r"cut.mat' is a truncated or corrupt MATLAB"):
        load_spikes(tmp_path / "cut.mat")
    (tmp_path / "text.mat").write_text("this is not matlab\n")
    with pytest.raises(SpikeDataError, match="is not a MATLAB .mat file: it looks like text"):
        load_spikes(tmp_path / "text.mat")


def test_bad_mat73_files(tmp_path):
    p = tmp_path / "s73.mat"
    _write_mat73(p, {"rec": ({"spikes": RASTER}, "struct")})
    with pytest.raises(SpikeDataError, match=r"'rec' in MATLAB v7.3 file .* is a MATLAB struct "
                       r"\(fields: spikes\)"):
        load_spikes(p)
    _write_mat73(tmp_path / "c73.mat", {"c": (None, "cell")})
    with pytest.raises(SpikeDataError, match="is a MATLAB cell array"):
        load_spikes(tmp_path / "c73.mat")
    good = tmp_path / "g73.mat"
    _write_mat73(good, {"data": (np.zeros((500, 20)), "double")})
    (tmp_path / "cut73.mat").write_bytes(good.read_bytes()[:1500])
    with pytest.raises(SpikeDataError, match="truncated or corrupt MATLAB v7.3"):
        load_spikes(tmp_path / "cut73.mat")


def test_bad_csv_files(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("time,unit\n0.1,1\nabc,2\n")
    with pytest.raises(SpikeDataError, match=r"bad.csv' is not a CSV of spike times"):
        load_spikes(p, bin_width=0.1)
    p.write_text("0.1,1,7\n")
    with pytest.raises(SpikeDataError, match="has 3 columns. Expected 2 columns 'time,unit'"):
        load_spikes(p, bin_width=0.1)
    p.write_text("0.1,1.5\n")
    with pytest.raises(SpikeDataError, match="must hold integer unit ids"):
        load_spikes(p, bin_width=0.1)
    p.write_text("time,unit\n")
    with pytest.raises(SpikeDataError, match="holds no spike times"):
        load_spikes(p, bin_width=0.1)
    p.write_text("0.10,1\n0.11,1\n")
    with pytest.raises(SpikeDataError, match=r"Unit 1 has 2 spikes in bin 1 .* in file '.*bad.csv'"):
        load_spikes(p, bin_width=0.1)
    p.write_text("0.1,1\n")
    with pytest.raises(SpikeDataError, match=r"Unit\(s\) 4 not found .* Units present: 1"):
        load_spikes(p, bin_width=0.1, units=[4])
    with pytest.raises(ConfigError, match="give `bin_width`"):
        load_spikes(p)


def test_options_that_do_not_apply_are_rejected(tmp_path):
    np.save(tmp_path / "r.npy", RASTER)
    with pytest.raises(ConfigError, match="`key` does not apply to .npy"):
        load_spikes(tmp_path / "r.npy", key="data")
    with pytest.raises(ConfigError, match="`start`/`stop` select a time span of spike times"):
        load_spikes(tmp_path / "r.npy", start=0.0)
    np.save(tmp_path / "w.npy", np.zeros((2, 3, 4)))
    with pytest.raises(SpikeDataError, match="`neurons_first` applies to 2-D rasters"):
        load_spikes(tmp_path / "w.npy", neurons_first=True)
    with pytest.raises(ConfigError, match="`bin_width` must be a number of seconds > 0"):
        load_spikes(tmp_path / "r.npy", bin_width=-1)
