"""``tf.data`` input pipeline that cuts windows on the fly.

Memory use: the spikes are held once, as a ``uint8`` TensorFlow constant
(a 283,041 x 50 raster takes 14 MB), plus a shuffle buffer of window start
indices (8 bytes per window: 2.3 MB for 283k windows) and a few prefetched
float32 batches (``batch_size * n_neurons * n_bins * 4`` bytes each). The
overlapping windows are never materialised: each batch gathers its windows
from the raster and casts only that batch to float32.
"""

from __future__ import annotations

import numpy as np

from spikegan_tf.data.source import windowed_spikes
from spikegan_tf.errors import SpikeDataError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["window_dataset"]


def window_dataset(
    raster: np.ndarray,
    n_bins: int | None,
    batch_size: int,
    *,
    stride: int = 1,
    seed: int | None,
    shuffle: bool = True,
    repeat: bool = True,
    drop_remainder: bool = True,
):
    """Batches of windows as a ``tf.data.Dataset`` of float32 ``(batch, n_neurons, n_bins)``.

    Parameters
    ----------
    raster : numpy.ndarray
        A raster ``(n_time_bins, n_neurons)``, windowed on the fly, or windows
        ``(n_samples, n_neurons, n_bins)`` (then ``n_bins`` must match or be None
        and ``stride`` is not used).
    n_bins : int or None
        Bins per window (None only for windows input).
    batch_size : int
        Windows per batch.
    stride : int
        Bins between the starts of consecutive windows of a raster.
    seed : int or None
        Seed of the shuffle (same seed, same order of batches).
    shuffle : bool
        Shuffle the windows (a full reshuffle every pass over the data).
    repeat : bool
        Repeat forever (for training loops counted in steps).
    drop_remainder : bool
        Drop the last incomplete batch of a pass.

    Returns
    -------
    tf.data.Dataset

    Raises
    ------
    SpikeDataError
        Non-binary spikes, or fewer bins/samples than one window/batch needs.

    Examples
    --------
    >>> import numpy as np
    >>> raster = (np.arange(40 * 3).reshape(40, 3) % 7 == 0).astype(np.uint8)
    >>> ds = window_dataset(raster, 8, 4, seed=0, repeat=False)
    >>> batch = next(iter(ds))
    >>> tuple(batch.shape), batch.dtype.name
    ((4, 3, 8), 'float32')
    """
    import tensorflow as tf

    ws = windowed_spikes(raster, n_bins=n_bins, stride=stride, name="raster",
                         stride_for_windows="ignore")
    spikes, n_bins, stride, count = ws.spikes, ws.n_bins, ws.stride, ws.n_windows
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    if drop_remainder and count < batch_size:
        raise SpikeDataError(
            f"Only {count} windows, fewer than one batch of {batch_size}: use a smaller "
            "batch_size or drop_remainder=False."
        )

    data = tf.constant(spikes)  # uint8, held once
    if spikes.ndim == 3:

        def gather(idx):
            return tf.cast(tf.gather(data, idx), tf.float32)

    else:
        offsets = tf.range(n_bins, dtype=tf.int64)

        def gather(idx):
            rows = idx[:, None] * stride + offsets[None, :]  # (batch, n_bins)
            win = tf.gather(data, rows)  # (batch, n_bins, n_neurons)
            return tf.cast(tf.transpose(win, (0, 2, 1)), tf.float32)

    ds = tf.data.Dataset.range(count)
    if shuffle:
        ds = ds.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
