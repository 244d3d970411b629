"""The importance-map figure (matplotlib, imported when called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.data import as_windows
from spikegan_tf.errors import SpikeDataError
from spikegan_tf.importance.packets import recover_packets

__all__ = ["plot_importance"]


# --------------------------------------------------------------------------- plotting


def plot_importance(maps: Any, spikes: Any, path: Any, *, n_examples: int = 4,
                    percentile: float = 95.0, title: str | None = None) -> None:
    """Save a figure of importance maps to ``path`` (needs matplotlib).

    Top row: the first ``n_examples`` maps, spikes outlined. Bottom row: the
    thresholded maps aligned and averaged (:func:`recover_packets`), and the
    mean importance per neuron and per time bin.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> spikes = np.eye(4, 8, dtype="uint8")[None].repeat(2, 0)
    >>> path = os.path.join(tempfile.mkdtemp(), "maps.png")
    >>> plot_importance(spikes * 0.5, spikes, path)
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    x = as_windows(spikes)
    v = np.asarray(maps, np.float64)
    if v.shape != x.shape:
        raise SpikeDataError(f"`maps` must have the shape of `spikes` {x.shape}. Received {v.shape}.")
    k = int(min(max(n_examples, 1), x.shape[0]))
    at_spikes = v[x.astype(bool)]
    vmax = float(np.percentile(at_spikes, 99)) if at_spikes.size else 0.0
    vmax = vmax if vmax > 0 else max(float(v.max()), 1.0)
    spikes_only = not v[x == 0].any()  # shuffle/gradient maps: colour the spikes
    fig = Figure(figsize=(3.2 * max(k, 3), 6.0))
    axes = fig.subplots(2, max(k, 3), squeeze=False)
    for i in range(axes.shape[1]):
        ax = axes[0, i]
        if i >= k:
            ax.axis("off")
            continue
        jj, tt = np.nonzero(x[i])
        if spikes_only:
            im = ax.scatter(tt, jj, c=v[i][jj, tt], cmap="viridis", vmin=0, vmax=vmax, s=22,
                            edgecolors="black", linewidths=0.4)
            ax.set_xlim(-0.5, x.shape[2] - 0.5)
            ax.set_ylim(x.shape[1] - 0.5, -0.5)
        else:
            im = ax.imshow(v[i], aspect="auto", interpolation="nearest", cmap="viridis", vmin=0,
                           vmax=vmax)
            ax.scatter(tt, jj, s=8, facecolors="none", edgecolors="white", linewidths=0.6)
        ax.set_title(f"sample {i}")
        ax.set_xlabel("time bin")
        ax.set_ylabel("neuron")
    fig.colorbar(im, ax=axes[0, k - 1], label="importance")
    for ax in axes[1, 3:]:
        ax.axis("off")
    if x.any():
        rec = recover_packets(v, x, percentile=percentile)
        axes[1, 0].imshow(rec.average, aspect="auto", interpolation="nearest", cmap="viridis")
        axes[1, 0].set_title(f"aligned average (>{percentile:g}th pct)")
        axes[1, 0].set_xlabel("time from first supra-threshold bin")
        axes[1, 0].set_ylabel("neuron")
    counts = np.maximum(x.sum((0, 2)), 1)
    axes[1, 1].bar(np.arange(x.shape[1]), v.sum((0, 2)) / counts)
    axes[1, 1].set_title("mean importance per spike")
    axes[1, 1].set_xlabel("neuron")
    counts_t = np.maximum(x.sum((0, 1)), 1)
    axes[1, 2].plot(np.arange(x.shape[2]), v.sum((0, 1)) / counts_t, marker=".")
    axes[1, 2].set_title("mean importance per spike")
    axes[1, 2].set_xlabel("time bin")
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:  # neurons and bins are whole numbers: no "2.5" ticks
        if ax.get_ylabel() == "neuron":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_xlabel() in ("neuron", "time bin"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
