"""Import TensorFlow without its C++ start-up chatter, wherever the import happens.

TensorFlow writes lines such as ``failed call to cuInit``, ``Could not find cuda
drivers`` and the oneDNN notice straight to file descriptor 2 while it is
imported and while it probes its devices, before ``TF_CPP_MIN_LOG_LEVEL`` can
take effect. :func:`install` (called by ``import spikegan_tf``) puts a finder on
:data:`sys.meta_path` so that the first ``import tensorflow`` -- by the package's
lazy imports, by ``import keras`` or by the user's code -- runs with descriptor 2
pointed at ``/dev/null`` and lists the physical devices (the CUDA probe) in the
same quiet window; logical devices are left uninitialised, so
``tf.config.set_logical_device_configuration`` and memory growth still work. The
CLI and the Python API share this one mechanism.

Python errors raised by the import still reach the caller (the descriptor is
restored first). ``SPIKEGAN_TF_LOGS=1`` keeps TensorFlow's lines.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["install", "quiet_stderr", "OPT_OUT"]

OPT_OUT = "SPIKEGAN_TF_LOGS"


def _wanted() -> bool:
    return os.environ.get(OPT_OUT) != "1"


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point file descriptor 2 at ``/dev/null`` for the block (C++ writes included)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Wrap TensorFlow's own loader: execute it (and probe devices) with stderr silenced."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        if not _wanted():
            self._loader.exec_module(module)
            return
        with quiet_stderr():
            self._loader.exec_module(module)
            config = getattr(module, "config", None)
            if config is not None:
                # CUDA is probed (and cuInit fails aloud) when devices are first listed, not
                # at import. Physical devices only: logical devices, memory growth and the
                # like can still be configured afterwards.
                config.list_physical_devices()

    def __getattr__(self, name: str) -> Any:  # get_filename, get_resource_reader...
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Find ``tensorflow`` as usual, then give it the quiet loader; removes itself after."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tensorflow":
            return None
        _uninstall()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietFinder()


def _uninstall() -> None:
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> None:
    """Make the first import of TensorFlow quiet (nothing to do once it is imported).

    Examples
    --------
    >>> install()
    >>> "tensorflow" in sys.modules or any(f is _FINDER for f in sys.meta_path)
    True
    """
    if "tensorflow" in sys.modules or _FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, _FINDER)
