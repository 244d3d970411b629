"""How well importance maps single out known spikes: ROC AUC of packet against background spikes."""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.data import as_windows
from spikegan_tf.errors import SpikeDataError
from spikegan_tf.validation import check_binary

__all__ = ["roc_auc", "spike_auc"]


# --------------------------------------------------------------------------- evaluation


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (ties count 1/2).

    Rank-based (Mann-Whitney U / (n_pos * n_neg)) with average ranks for ties.

    Examples
    --------
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    >>> roc_auc([1, 1, 1], [0, 1, 1])
    0.5
    """
    from scipy.stats import rankdata

    s = np.asarray(scores, np.float64).ravel()
    y = check_binary(labels, "labels").ravel().astype(bool)
    if s.shape != y.shape:
        raise SpikeDataError(
            f"`scores` and `labels` must have the same size. Received {s.size} and {y.size}."
        )
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise SpikeDataError(
            f"ROC AUC needs both classes. Received {n_pos} positive and {n_neg} negative labels."
        )
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def spike_auc(maps: Any, spikes: Any, mask: Any) -> float:
    """ROC AUC of the importance of marked spikes (``mask``) against the other spikes.

    Only bins with a spike enter; ``mask`` marks e.g. the packet spikes of the
    ``packets`` simulation.

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.array([[[1, 1, 0, 1]]])
    >>> maps = np.array([[[0.9, 0.1, 0.0, 0.5]]])
    >>> spike_auc(maps, spikes, np.array([[[1, 0, 0, 0]]]))
    1.0
    """
    x = as_windows(spikes).astype(bool)
    m = check_binary(mask, "mask").astype(bool)
    v = np.asarray(maps, np.float64)
    if v.shape != x.shape or m.shape != x.shape:
        raise SpikeDataError(
            f"`maps`, `spikes` and `mask` must have the same shape. Received {v.shape}, "
            f"{x.shape} and {m.shape}."
        )
    return roc_auc(v[x], m[x])
