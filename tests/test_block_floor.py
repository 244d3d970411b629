"""What a perfect model's raster scores: blocks of the reference scored as a generated raster."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data.states import states
from spikegan_tf.errors import SpikeDataError
from spikegan_tf.evaluation import HEADLINE, compare
from spikegan_tf.evaluation.block_floor import BlockFloor, block_floor, block_offsets


@pytest.fixture(scope="module")
def raster():
    return states(12_000, 5, dwell=50, seed=2).spikes


def test_block_offsets_are_even_and_reach_the_last_block():
    assert block_offsets(1000, 250, 4) == (0, 250, 500, 750)
    assert block_offsets(1000, 250, 1) == (0,)
    assert block_offsets(1001, 250, 3) == (0, 376, 751)  # round(375.5) is 376
    assert block_offsets(251, 250, 5) == (0, 1)  # fewer distinct starts than blocks


def test_end_blocks_are_scored_against_the_rest_exactly_as_compare_does(raster):
    reference, held = raster[:9_000], raster[9_000:]
    length = 2_000
    floor = block_floor(reference, held, length=length, n_blocks=3, n_bins=8, max_lag=6)
    assert floor.offsets == (0, 3_500, 7_000) and floor.length == length
    assert tuple(floor.ratios) == HEADLINE
    # the first and last blocks leave one contiguous rest: compare() on it is the oracle
    for i, (block, rest) in enumerate([(reference[:length], reference[length:]),
                                       (reference[-length:], reference[:-length])]):
        want = compare(rest, {"block": block}, held, n_bins=8, max_lag=6, statistics=HEADLINE)
        for name in HEADLINE:
            assert floor.ratios[name][-i] == pytest.approx(want.ratio("block", name), rel=1e-12)


def test_a_block_equal_to_the_held_out_raster_scores_exactly_one(raster):
    reference = raster[:10_000]
    # the middle block (its rest joined around it) is the held-out raster itself
    offsets = block_offsets(10_000, 2_500, 3)
    held = reference[offsets[1]:offsets[1] + 2_500].copy()
    floor = block_floor(reference, held, n_blocks=3, n_bins=8,
                        statistics=("firing_probability", "covariance", "autocorrelogram"))
    assert floor.offsets == offsets == (0, 3_750, 7_500)
    assert [floor.ratios[n][1] for n in floor.ratios] == [1.0, 1.0, 1.0]
    assert all(floor.ratios[n][0] != 1.0 for n in floor.ratios)  # the others are not it


def test_summary_within_and_json(raster):
    floor = BlockFloor(10, 4, (0, 3, 6), {"a": (0.5, 2.0, 1.0), "b": (1.4, 1.6, 1.0)})
    assert floor.summary()["a"] == {"min": 0.5, "median": 1.0, "max": 2.0}
    assert floor.within(1.5) == 2 and floor.within(1.0) == 1 and floor.within(1.5, ["a"]) == 2
    d = json.loads(json.dumps(floor.to_dict()))
    assert d["offsets"] == [0, 3, 6] and d["summary"]["b"]["max"] == 1.6
    lines = floor.lines({"model": {"a": 3.25, "b": 0.5}})
    assert "3 blocks of 10 bins" in lines[0] and lines[2].split()[-1] == "3.25"


def test_bad_input_is_named(raster):
    with pytest.raises(SpikeDataError, match="fit twice in the reference: reference 3000 bins, "
                                             "blocks of 2000"):
        block_floor(raster[:3_000], raster[3_000:5_000], n_bins=8)
    with pytest.raises(SpikeDataError, match="`held_out` must have the reference's 5 neurons. "
                                             "Received 4"):
        block_floor(raster, raster[:100, :4], n_bins=8)
    with pytest.raises(SpikeDataError, match="held_out"):
        block_floor(raster, raster[:100] * 2, n_bins=8)


def test_cli_block_floor_beside_the_generated_raster(raster, tmp_path, capsys):
    np.save(tmp_path / "train.npy", raster[:8_000])
    np.save(tmp_path / "test.npy", raster[8_000:10_000])
    np.save(tmp_path / "model.npy", raster[10_000:])  # real data in the model's place
    out = tmp_path / "eval"
    args = ["evaluate", "--real", str(tmp_path / "train.npy"), "--bins", "8",
            "--noise-floor", str(tmp_path / "test.npy"), "--no-figures",
            "--n-memorization", "50"]
    assert main(args + ["--generated", str(tmp_path / "model.npy"), "--block-floor", "3",
                        "--out", str(out)]) == 0
    got = json.loads((out / "block_floor.json").read_text())
    results = json.loads((out / "results.json").read_text())
    want = block_floor(raster[:8_000], raster[8_000:10_000], n_blocks=3, n_bins=8)
    assert got["offsets"] == [0, 3_000, 6_000] and got["length"] == 2_000
    assert got["ratios"] == {k: list(v) for k, v in want.ratios.items()}
    assert got["within_1.5x"] == want.within(1.5)
    ratio = results["results"]["model"]["covariance"]["ratio_to_floor"]
    assert got["generated"]["model"]["covariance"] == ratio
    assert "a perfect model's raster: 3 blocks of 2000 bins" in capsys.readouterr().out
    # --pair-windows reaches the blocks as it reaches the generated raster
    assert main(args + ["--generated", str(tmp_path / "model.npy"), "--block-floor", "3",
                        "--pair-windows", "500", "--out", str(tmp_path / "pw")]) == 0
    got = json.loads((tmp_path / "pw" / "block_floor.json").read_text())
    want = block_floor(raster[:8_000], raster[8_000:10_000], n_blocks=3, n_bins=8,
                       pair_windows=500)
    assert got["ratios"] == {k: list(v) for k, v in want.ratios.items()}
    assert got["ratios"]["covariance"] != list(block_floor(
        raster[:8_000], raster[8_000:10_000], n_blocks=3, n_bins=8).ratios["covariance"])
    # windows, a missing held-out raster, or blocks that do not fit: one line, nothing written
    np.save(tmp_path / "windows.npy", np.zeros((10, 5, 8), np.uint8))
    np.save(tmp_path / "short.npy", raster[10_000:11_500])
    cases = [(["--generated", str(tmp_path / "windows.npy")], "not windows"),
             (["--generated", str(tmp_path / "train.npy")], "to hold two blocks"),
             (["--generated", str(tmp_path / "model.npy"), "--generated",
               str(tmp_path / "short.npy")], "of one length. Received lengths [1500, 2000]")]
    for extra, message in cases:
        assert main(args + extra + ["--block-floor", "3", "--out", str(tmp_path / "e")]) == 2
        assert message in capsys.readouterr().err
    no_floor = [a for a in args if a not in ("--noise-floor", str(tmp_path / "test.npy"))]
    assert main(no_floor + ["--generated", str(tmp_path / "model.npy"), "--block-floor", "3",
                            "--out", str(tmp_path / "e")]) == 2
    assert "give --real and --noise-floor rasters" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()
