"""Spike times from the Units table of an NWB file (needs the ``nwb`` extra: pynwb)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spikegan_tf.data.spiketimes import select_unit_ids
from spikegan_tf.errors import SpikeDataError, SpikeGANError

__all__ = ["read_nwb_spike_times"]


def read_nwb_spike_times(
    path: str, *, units: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the spike times of the Units table of an NWB file.

    Parameters
    ----------
    path : str
        NWB (HDF5) file.
    units : sequence of int, optional
        Unit ids (the table's ``id`` column) to keep, in this order.
        Default: every unit, in table order.

    Returns
    -------
    times : numpy.ndarray of float64
        Spike times in seconds.
    unit_index : numpy.ndarray of int64
        Column of each spike (position of its unit in ``unit_ids``).
    unit_ids : numpy.ndarray of int64
        Unit id of each column.

    Raises
    ------
    SpikeDataError
        pynwb missing, not an NWB file, no Units table or no spike times,
        unknown unit ids.
    """
    try:
        import h5py
        from pynwb import NWBHDF5IO
    except ImportError:
        raise SpikeDataError(
            f"Reading '{path}' needs pynwb, which is not installed: "
            "pip install 'spikegan-tf[nwb]'."
        ) from None
    if not h5py.is_hdf5(path):
        raise SpikeDataError(
            f"File '{path}' is not an NWB file (not HDF5, or truncated/corrupt). Expected an "
            "NWB 2 file with a Units table."
        )
    try:
        with NWBHDF5IO(path, "r", load_namespaces=True) as nwb_io:
            nwb = nwb_io.read()
            table = nwb.units
            if table is None or len(table) == 0:
                raise SpikeDataError(
                    f"NWB file '{path}' has no Units table (or it is empty). Expected sorted "
                    "units with spike times in nwbfile.units."
                )
            if "spike_times" not in table.colnames:
                raise SpikeDataError(
                    f"The Units table of NWB file '{path}' has no spike_times column. "
                    f"Columns present: {', '.join(table.colnames)}."
                )
            all_ids = np.asarray(table.id[:], dtype=np.int64)
            if units is None:
                rows = np.arange(all_ids.size)
            else:
                rows = _rows_for(units, all_ids, path)
            per_unit = [np.asarray(table.get_unit_spike_times(int(r)), np.float64) for r in rows]
    except SpikeGANError:
        raise
    except Exception as exc:  # pynwb/hdmf raise many types for malformed files
        raise SpikeDataError(
            f"Could not read NWB file '{path}' ({type(exc).__name__}: {exc})."
        ) from None
    times = np.concatenate(per_unit) if per_unit else np.zeros(0)
    unit_index = np.repeat(np.arange(len(per_unit), dtype=np.int64), [t.size for t in per_unit])
    return times, unit_index, all_ids[rows]



def _rows_for(units: Sequence[Any], all_ids: np.ndarray, path: str) -> np.ndarray:
    wanted = select_unit_ids(units, all_ids, f"the Units table of NWB file '{path}'")
    return np.asarray([int(np.flatnonzero(all_ids == uid)[0]) for uid in wanted], dtype=np.int64)
