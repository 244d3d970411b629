"""Exceptions raised for bad user input and failed runs.

Every error a user can cause derives from :class:`SpikeGANError`, so that the
command-line interface can print its message as one line (no traceback) and exit
with a non-zero status, while library users can still catch the specific
built-in type (``ValueError``, ``FileNotFoundError``...) they expect.
"""

from __future__ import annotations


class SpikeGANError(Exception):
    """Base class of every error caused by user input or by a failed run."""


class SpikeDataError(SpikeGANError, ValueError):
    """Spike data (an array or a file) is not what was expected.

    Examples
    --------
    >>> from spikegan_tf.errors import SpikeDataError
    >>> issubclass(SpikeDataError, ValueError)
    True
    """


class ConfigError(SpikeGANError, ValueError):
    """A configuration value is out of range or inconsistent with another one."""


class WindowingError(SpikeDataError, ConfigError):
    """Spike data and the window arguments (``n_bins``, ``stride``) do not fit together.

    A raster without ``n_bins`` or shorter than one window, windows whose
    length disagrees with ``n_bins``, or a ``stride`` given for windows: either
    the data or the arguments may be the thing to fix, so it is both a
    :class:`SpikeDataError` and a :class:`ConfigError`.

    Examples
    --------
    >>> issubclass(WindowingError, SpikeDataError), issubclass(WindowingError, ConfigError)
    (True, True)
    """


class RunDirError(SpikeGANError, OSError):
    """A run or output directory is missing, incomplete or not writable."""


class TrainingDivergedError(SpikeGANError, RuntimeError):
    """Training produced a non-finite loss; the last good checkpoint is kept."""
