"""CSV spike times: time 0 is the origin, negative times are errors, `info` shows the span.

Issue 12, item 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data import load_spikes, raster_from_spike_times
from spikegan_tf.errors import SpikeDataError


@pytest.fixture
def late_csv(tmp_path):
    """Spikes of units 7 and 3 between 100 and 110 s only."""
    p = tmp_path / "late.csv"
    p.write_text("time,unit\n100.05,7\n104.0,3\n109.95,7\n")
    return p


def test_the_raster_starts_at_time_zero_not_at_the_first_spike(late_csv):
    rec = load_spikes(late_csv, bin_width=0.1)
    assert rec.spikes.shape == (1100, 2)  # 0 to 110 s, not 100 bins from 100 s
    # columns in increasing unit id: 3 then 7
    assert rec.spikes[:, 0].nonzero()[0].tolist() == [1040]
    assert rec.spikes[:, 1].nonzero()[0].tolist() == [1000, 1099]
    # the rate is spikes over the time since 0: 2 spikes / 110 s for unit 7
    assert rec.spikes[:, 1].mean() / 0.1 == pytest.approx(2 / 110)
    np.testing.assert_allclose(rec.extras["time_span"], [0.0, 110.0])
    np.testing.assert_allclose(rec.extras["spike_time_range"], [100.05, 109.95])
    # --start says otherwise
    late = load_spikes(late_csv, bin_width=0.1, start=100.0)
    assert late.spikes.shape == (100, 2) and late.spikes[0, 1] == 1
    assert raster_from_spike_times([0.25], bin_width=0.1).tolist() == [[0], [0], [1]]


def test_negative_times_are_an_error_naming_the_file(tmp_path):
    p = tmp_path / "neg.csv"
    p.write_text("0.5,1\n-0.2,1\n0.7,2\n")
    with pytest.raises(SpikeDataError, match=r"File '.*neg\.csv' has 1 negative spike time"
                                             r"\(s\), the first -0\.2 s in data row 2"):
        load_spikes(p, bin_width=0.1)
    with pytest.raises(SpikeDataError, match=r"must be >= 0 s .* smallest -0\.2 s"):
        raster_from_spike_times([0.5, -0.2], bin_width=0.1)
    # an explicit earlier origin bins them
    assert raster_from_spike_times([0.5, -0.2], bin_width=0.1, start=-0.5)[:, 0].sum() == 2


def test_info_prints_the_time_span_duration_and_unit_ids(late_csv, capsys):
    assert main(["info", str(late_csv), "--bin-width", "0.1"]) == 0
    out = capsys.readouterr().out
    assert ("time span:   0 to 110 s, duration 110 s (1100 bins of 0.1 s); "
            "spikes from 100.05 to 109.95 s") in out
    assert "unit ids:    3, 7 (columns 0 to 1 in this order)" in out
    assert "(unit 3), max" in out and "(unit 7)" in out  # ids, not renumbered rows
    assert "other arrays" not in out
    assert main(["info", str(late_csv), "--bin-width", "0.1", "--start", "100"]) == 0
    assert "time span:   100 to 110 s, duration 10 s (100 bins of 0.1 s)" in (
        capsys.readouterr().out)
