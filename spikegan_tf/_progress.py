"""A one-line progress report with a rate and an ETA, for long loops outside training.

On a terminal the line is redrawn in place (at most 5 times a second); in a log
file (not a terminal) the first update is written at once, so that the ETA is
known early, then one line every ``interval`` seconds, and a last line on
:meth:`Progress.close`. Nothing is written when ``enabled`` is false.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> p = Progress("fit", total=4, unit="iterations", stream=out)
>>> for i in range(4):
...     p.update(i + 1)
>>> p.close()
>>> print(out.getvalue().splitlines()[0])  # doctest: +ELLIPSIS
fit: 1/4 iterations (25%), ... iterations/s, ETA ...
>>> out.getvalue().splitlines()[-1].startswith("fit: 4/4 iterations (100%) in ")
True
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``.

    >>> format_seconds(75), format_seconds(3725)
    ('1:15', '1:02:05')
    """
    s = int(round(max(seconds, 0.0)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress of ``total`` units of work: ``label: done/total unit (x%), rate, ETA``.

    Parameters
    ----------
    label : str
        What is running (printed first).
    total : float
        Units of work in all.
    unit : str
        Name of a unit (``"windows"``, ``"iterations"``).
    stream : file-like, optional
        Default ``sys.stderr``.
    enabled : bool
        False: write nothing.
    interval : float
        Seconds between lines when the stream is not a terminal.
    """

    def __init__(self, label: str, total: float, unit: str, *, stream: Any = None,
                 enabled: bool = True, interval: float = 10.0) -> None:
        self.label, self.total, self.unit = label, float(total), unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(enabled) and self.total > 0
        self.interval = interval
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self._last_print: float | None = None
        self.done = 0.0

    def update(self, done: float) -> None:
        """Record that ``done`` units (in all) are finished; print when it is time."""
        self.done = float(done)
        if not self.enabled:
            return
        now = time.monotonic()
        if self._last_print is not None:
            wait = 0.2 if self.tty else self.interval
            if now - self._last_print < wait:
                return
        self._last_print = now
        self._write(self._line(now))

    def close(self) -> None:
        """Print the final line (total time)."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.t0
        line = (f"{self.label}: {_count(self.done)}/{_count(self.total)} {self.unit} "
                f"({100 * self.done / self.total:.0f}%) in {format_seconds(elapsed)}")
        self._write(line)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, now: float) -> str:
        elapsed = now - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.label}: {_count(self.done)}/{_count(self.total)} {self.unit} "
                 f"({100 * self.done / self.total:.0f}%)"]
        parts.append(f"{rate:.3g} {self.unit}/s")
        if rate > 0:
            parts.append(f"ETA {format_seconds((self.total - self.done) / rate)}")
        return ", ".join(parts)

    def _write(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r" + line.ljust(79))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _count(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"
