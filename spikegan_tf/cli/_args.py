"""One way to check every numeric command-line flag: the argparse type :class:`Number`.

Each numeric flag is declared with its range, e.g.
``p.add_argument("--bins", type=Number("--bins", minimum=1))``. The value is
parsed and checked while the command line is parsed -- before any data is read
or any heavy module imported -- and a bad one ends as the one-line error
"`--bins` must be an integer >= 1. Received 0." (exit status 2).

:class:`Parser` is the ``ArgumentParser`` of every command: its own errors
(a missing flag, an unknown one) are one line too.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any, NoReturn

from spikegan_tf.errors import SpikeGANError

__all__ = ["ArgumentValueError", "Number", "Parser"]


class ArgumentValueError(SpikeGANError):
    """A numeric flag is not a number or out of its range.

    Deliberately not a ``ValueError``: argparse replaces a ``ValueError`` raised by a
    ``type`` with its generic "invalid value" message, while this error reaches
    :func:`spikegan_tf.cli.main` with its message intact.
    """


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Number:
    """Argparse type: an ``int`` (default) or a finite ``float`` within a range.

    Parameters
    ----------
    flag : str
        The flag, named in the error message.
    kind : type
        ``int`` or ``float``.
    minimum, maximum : float, optional
        Bounds, inclusive unless ``open_min`` / ``open_max``.
    noun : str, optional
        How an in-range value is called in the message ("a probability").

    Examples
    --------
    >>> Number("--bins", minimum=1)("32")
    32
    >>> Number("--bins", minimum=1)("0")
    Traceback (most recent call last):
    ...
    spikegan_tf.cli._args.ArgumentValueError: `--bins` must be an integer >= 1. Received 0.
    >>> Number("--lr", float, minimum=0, open_min=True)("nan")
    Traceback (most recent call last):
    ...
    spikegan_tf.cli._args.ArgumentValueError: `--lr` must be a number > 0. Received nan.
    """

    flag: str
    kind: type = int
    minimum: float | None = None
    maximum: float | None = None
    open_min: bool = False
    open_max: bool = False
    noun: str | None = None

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return self.kind.__name__

    def expected(self, *, noun: bool = False) -> str:
        """What the flag must be: ``an integer >= 1``, ``in [0, 1)`` (``a number in [0, 1)``)."""
        name = self.noun or ("an integer" if self.kind is int else "a number")
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            interval = (f"{'(' if self.open_min else '['}{_fmt(lo)}, "
                        f"{_fmt(hi)}{')' if self.open_max else ']'}")
            named = noun or self.noun or self.kind is int
            return f"{name + ' ' if named else ''}in {interval}"
        if lo is not None:
            return f"{name} {'>' if self.open_min else '>='} {_fmt(lo)}"
        if hi is not None:
            return f"{name} {'<' if self.open_max else '<='} {_fmt(hi)}"
        return "a finite number" if self.kind is float else name

    def __call__(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise ArgumentValueError(
                f"`{self.flag}` must be {self.expected(noun=True)}. Received {text!r}."
            ) from None
        lo, hi = self.minimum, self.maximum
        ok = not (self.kind is float and not math.isfinite(value))
        if ok and lo is not None:
            ok = value > lo if self.open_min else value >= lo
        if ok and hi is not None:
            ok = value < hi if self.open_max else value <= hi
        if not ok:
            raise ArgumentValueError(f"`{self.flag}` must be {self.expected()}. Received {text}.")
        return value


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line: ``PROG: error: MESSAGE (see PROG --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def flag_error(exc: Exception, flags: dict[str, str]) -> Exception:
    """``exc``, naming the command-line flag of the parameter it is about.

    ``flags`` maps parameter names to flags; a :class:`~spikegan_tf.params.ParamError`
    or :class:`~spikegan_tf.params.RuleError` carries its parameters, so no message
    text is parsed. Other errors are returned unchanged.

    Examples
    --------
    >>> from spikegan_tf.params import Integer, check_param
    >>> try:
    ...     check_param("n_bins", 0, Integer(min=1))
    ... except Exception as exc:
    ...     print(flag_error(exc, {"n_bins": "--bins"}))
    `--bins` must be an integer >= 1. Received 0.
    """
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.params import ParamError, RuleError

    if isinstance(exc, (ParamError, RuleError)):
        return ConfigError(exc.with_names(flags))
    return exc
