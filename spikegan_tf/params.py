"""Declarative parameter constraints and the one validator that checks them.

Each configurable class states what its parameters accept as data, next to its
fields, and calls :func:`validate_params` once; the error it raises,
:class:`ParamError`, carries the parameter's name, what was expected and what
was received, so a caller with other names for the parameters (the command
line's flags) rewrites the message from those parts instead of parsing text.
Modelled on scikit-learn's ``utils/_param_validation.py``.

Examples
--------
>>> spec = {"batch_size": Integer(min=1), "rate": Real(min=0, max=1, max_open=True),
...         "mode": Options("fast", "exact"), "limit": [Real(min=0, min_open=True), None]}
>>> validate_params(spec, {"batch_size": 64, "rate": 0.5, "mode": "fast", "limit": None})
>>> try:
...     validate_params(spec, {"batch_size": 0, "rate": 0.5, "mode": "fast", "limit": None})
... except ParamError as exc:
...     print(exc); print(exc.param, exc.renamed("--batch-size"))
`batch_size` must be an integer >= 1. Received 0.
batch_size `--batch-size` must be an integer >= 1. Received 0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from spikegan_tf.errors import ConfigError

__all__ = ["ParamError", "RuleError", "Integer", "Real", "Options", "Boolean",
           "validate_params", "check_param"]


class ParamError(ConfigError):
    """A parameter value that its constraints do not accept.

    Attributes
    ----------
    param : str
        The parameter's name.
    expected : str
        What it accepts, e.g. ``"an integer >= 1"``.
    received : Any
        The value given.
    """

    def __init__(self, param: str, expected: str, received: Any,
                 show_type: bool = False) -> None:
        self.param, self.expected, self.received = param, expected, received
        self.show_type = show_type
        super().__init__(self.renamed(param))

    def with_names(self, names: Mapping[str, str]) -> str:
        """The message with parameters renamed by ``names`` (e.g. to command-line flags)."""
        return self.renamed(names.get(self.param, self.param))

    def renamed(self, name: str) -> str:
        """The message with the parameter called ``name`` (e.g. a command-line flag)."""
        shown = repr(self.received)
        if self.show_type:  # a value of the wrong kind: 2.0 for an integer, "3" for a number
            shown += f" ({type(self.received).__name__})"
        return f"`{name}` must be {self.expected}. Received {shown}."


class RuleError(ConfigError):
    """A rule between several parameters is broken (e.g. ``group_size <= n_neurons``).

    ``template`` names each parameter as a ``{field}`` of :meth:`str.format`
    (values are written in already); ``params`` lists them.

    Examples
    --------
    >>> err = RuleError("{group_size} (12) must be at most {n_neurons} (10).",
    ...                 ("group_size", "n_neurons"))
    >>> str(err)
    '`group_size` (12) must be at most `n_neurons` (10).'
    >>> err.with_names({"group_size": "--group-size", "n_neurons": "--neurons"})
    '`--group-size` (12) must be at most `--neurons` (10).'
    """

    def __init__(self, template: str, params: tuple[str, ...]) -> None:
        self.template, self.params = template, tuple(params)
        super().__init__(self.with_names({}))

    def with_names(self, names: Mapping[str, str]) -> str:
        """The message with parameters renamed by ``names`` (e.g. to command-line flags)."""
        return self.template.format(**{p: f"`{names.get(p, p)}`" for p in self.params})


class _Constraint:
    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def same_kind(self, value: Any) -> bool:
        """Whether ``value`` is of the kind this constraint is about (if not, say its type)."""
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


class _Range(_Constraint):
    kind = "a number"

    def __init__(self, min: float | None = None, max: float | None = None, *,
                 min_open: bool = False, max_open: bool = False, kind: str | None = None) -> None:
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open
        self.named = kind is not None  # e.g. "a probability": always said
        if kind is not None:
            self.kind = kind

    def _in_range(self, value: Any) -> bool:
        v = float(value)
        if self.min is not None and (v <= self.min if self.min_open else v < self.min):
            return False
        return not (self.max is not None and (v >= self.max if self.max_open else v > self.max))

    def __str__(self) -> str:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            interval = (f"in {'(' if self.min_open else '['}{lo:g}, "
                        f"{hi:g}{')' if self.max_open else ']'}")
            return f"{self.kind} {interval}" if self.named or self.kind != "a number" else interval
        if lo == 0 and not self.min_open and self.kind == "an integer":
            return "a non-negative integer"
        if lo is not None:
            return f"{self.kind} {'>' if self.min_open else '>='} {lo:g}"
        if hi is not None:
            return f"{self.kind} {'<' if self.max_open else '<='} {hi:g}"
        return self.kind


class Integer(_Range):
    """An integer (numpy integers included, ``bool`` not) in a range."""

    kind = "an integer"

    def accepts(self, value: Any) -> bool:
        return _is_int(value) and self._in_range(value)

    def same_kind(self, value: Any) -> bool:
        return _is_int(value)


class Real(_Range):
    """A finite real number (integers included, ``bool`` not) in a range."""

    def accepts(self, value: Any) -> bool:
        return _is_real(value) and self._in_range(value)

    def same_kind(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Options(_Constraint):
    """One of a fixed set of values."""

    def __init__(self, *options: Any) -> None:
        self.options = options

    def accepts(self, value: Any) -> bool:
        return any(value == o and type(value) is type(o) for o in self.options)

    def same_kind(self, value: Any) -> bool:
        return any(type(value) is type(o) for o in self.options)

    def __str__(self) -> str:
        return f"one of {self.options}"


class Boolean(_Constraint):
    """``True`` or ``False`` (not 0/1)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def same_kind(self, value: Any) -> bool:
        return isinstance(value, bool)

    def __str__(self) -> str:
        return "True or False"


def _describe(constraints: list[Any]) -> str:
    text = [str(c) for c in constraints if c is not None]
    if None in constraints:
        text.append("None")
    return " or ".join(text)


def check_param(name: str, value: Any, constraint: Any) -> None:
    """Raise :class:`ParamError` unless ``constraint`` (or one in a list of them) accepts ``value``.

    ``None`` in a list accepts ``None``.

    Examples
    --------
    >>> check_param("seed", 3, [Integer(min=0), None])
    >>> check_param("seed", -1, [Integer(min=0), None])
    Traceback (most recent call last):
    ...
    spikegan_tf.params.ParamError: `seed` must be a non-negative integer or None. Received -1.
    """
    options = constraint if isinstance(constraint, list) else [constraint]
    for c in options:
        if (value is None) if c is None else c.accepts(value):
            return
    kinds = [c for c in options if c is not None]
    show_type = value is not None and not any(c.same_kind(value) for c in kinds)
    raise ParamError(name, _describe(options), value, show_type)


def validate_params(spec: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Check every parameter of ``spec`` in ``values`` (in ``spec``'s order).

    ``spec`` maps a parameter name to a constraint or a list of alternatives;
    the first value that no alternative accepts raises :class:`ParamError`.
    """
    for name, constraint in spec.items():
        check_param(name, values[name], constraint)
