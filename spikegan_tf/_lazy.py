"""Names of a package that import their module on first use (PEP 562).

So that importing a package stays cheap: ``import spikegan_tf`` or
``spikegan_tf.export`` never imports TensorFlow until a name that needs it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, names: Mapping[str, str], also: Iterable[str] = ()
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps a name to its module.

    Examples
    --------
    >>> get, listing = lazy_names("spikegan_tf", {"ConfigError": "spikegan_tf.errors"})
    >>> get("ConfigError").__name__, listing()
    ('ConfigError', ['ConfigError'])
    """
    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            setattr(sys.modules[package], name, value)  # the next lookup is a plain one
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*names, *also})

    return __getattr__, __dir__
