"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted write (Ctrl-C, a full disk, ``kill -9``) never leaves a
truncated file under the final name, and the file gets the usual umask mode
(``tempfile.mkstemp`` alone would leave it readable by its owner only). A
failed write is reported under the name the caller gave, never under the
hidden temporary one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix, for writers that dispatch on it
    (``.keras``, ``.npz``). On an exception it is removed and the target is untouched;
    an ``OSError`` about the temporary file (read-only directory, full disk, a
    directory in the way) is raised again, of the same type, naming ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    prefix, suffix = f".{path.stem}.", f".tmp{path.suffix}"
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    except OSError as exc:
        raise _naming(exc, None, path) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if _mentions(exc, tmp):
            raise _naming(exc, tmp, path) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mentions(exc: OSError, tmp: Path) -> bool:
    names = (exc.filename, exc.filename2)
    return any(n is not None and os.fspath(n) == os.fspath(tmp) for n in names) or (
        exc.filename is None and tmp.name in str(exc))


def _naming(exc: OSError, tmp: Path | None, path: Path) -> OSError:
    """The same kind of error, about ``path`` (the file the caller asked for)."""
    if exc.errno is None:  # e.g. h5py: the temporary name inside the message
        text = str(exc).replace(str(tmp), str(path)) if tmp is not None else str(exc)
        return type(exc)(f"Could not write '{path}': {text}")
    try:
        new = type(exc)(exc.errno, exc.strerror, str(path))
    except TypeError:  # an OSError subclass with its own constructor
        new = OSError(exc.errno, exc.strerror, str(path))
    return new
