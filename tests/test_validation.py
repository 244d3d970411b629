"""Validation at the public boundary: every bad spike array gets a precise message."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import (
    check_binary,
    check_positive_int,
    check_raster,
    check_seed,
    check_windows,
    format_values,
    where,
)


def test_binary_inputs_become_uint8_without_changing_values():
    for x in ([[0, 1], [1, 0]], np.array([[True, False]]), np.array([[0.0, 1.0]])):
        out = check_binary(x)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, np.asarray(x, dtype=np.uint8))


def test_uint8_input_is_not_copied():
    x = np.zeros((3, 2), np.uint8)
    assert check_binary(x) is x


@pytest.mark.parametrize(
    "x, message",
    [
        (np.array([0, 1, 3]), "`spikes` must be binary (0/1). Received values {0, 1, 3}."),
        (np.array([0.0, 1.0, 0.5]), "Received fractional values; values seen: {0, 0.5, 1}"),
        (np.array([0, -1, 1]), "Received negative values; values seen: {-1, 0, 1}"),
        (np.array([0.0, np.nan, np.inf]), "must be finite 0/1 values. Received 1 NaN and 1 infinite"),
        (np.array([0, 1j]), "Received a complex array (dtype complex128)"),
        (np.array([0, None], dtype=object), "must be a numeric array of 0/1 values. Received dtype object"),
        (np.array(["0", "1"]), "Received dtype <U1"),
        (np.zeros((0, 4)), "must not be empty. Received shape (0, 4)"),
    ],
)
def test_bad_values_are_named(x, message):
    with pytest.raises(SpikeDataError) as info:
        check_binary(x)
    assert message in str(info.value)


def test_counts_above_one_suggest_a_smaller_bin_or_clipping():
    with pytest.raises(SpikeDataError, match="more than one spike per bin"):
        check_binary(np.array([0, 2]))


def test_file_name_and_argument_name_appear_in_the_message():
    with pytest.raises(SpikeDataError) as info:
        check_binary(np.array([0, 7]), "data", source="rec.mat")
    assert str(info.value).startswith("`data` must be binary")
    assert "in file 'rec.mat'" in str(info.value)


def test_wrong_number_of_dimensions():
    with pytest.raises(SpikeDataError, match=r"must have 3 dimensions. Received shape \(2, 2\)"):
        check_windows(np.zeros((2, 2)))
    with pytest.raises(SpikeDataError, match=r"`raster` must have 2 dimensions"):
        check_raster(np.zeros((2, 2, 2)))
    with pytest.raises(SpikeDataError, match="must have 2 or 3 dimensions"):
        check_binary(np.zeros(4), ndim=(2, 3))


def test_ragged_lists_are_rejected_clearly():
    with pytest.raises(SpikeDataError, match="Could not convert it"):
        check_binary([[0, 1], [1]])


def test_format_values_shortens_long_lists():
    assert format_values(np.array([3, 0, 1, 1])) == "{0, 1, 3}"
    text = format_values(np.arange(25))
    assert text.startswith("{0, 1, 2") and "(25 distinct values)" in text


def test_where():
    assert where(None) == ""
    assert where("a.npy") == " in file 'a.npy'"


def test_check_seed_and_positive_int():
    assert check_seed(None) is None
    assert check_seed(np.int64(5)) == 5
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="`seed` must be a non-negative integer"):
            check_seed(bad)
    assert check_positive_int(3, "n") == 3
    assert check_positive_int(0, "gap", minimum=0) == 0
    with pytest.raises(ConfigError, match=r"`n_bins` must be an integer >= 1. Received 0"):
        check_positive_int(0, "n_bins")
    with pytest.raises(ConfigError, match=r"Received 2.0 \(float\)"):
        check_positive_int(2.0, "n_bins")
