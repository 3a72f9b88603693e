"""Typed plugin parameters: what each parameter accepts, read from its plugin's signature.

A parameter's type comes from its annotation, or from its default when it has none:

    n_points: Annotated[int, Range(ge=10)] = 1000      # an integer >= 10
    noise: NonNegative = 0.0                           # a finite number >= 0
    match: Literal["trajectory", "time"] = "time"      # one of two strings
    ambient_dim: int | None = None                     # an integer or null
    rotate = True                                      # no annotation: the default's type, bool
    radii: list[float] = [1.0, 0.5]                    # a list of finite numbers ([1, 2] is [1.0, 2.0])
    dims = [2, 1]                                      # no annotation: a list of the default's element type

Override values are coerced and checked with `ParamType.coerce` before a cell's identity is computed,
so `300` and `300.0` for an integer are the same cell, and `true` for an integer, `abc`, `300.5`,
`nan` or a value out of range are rejected with one line that names the parameter, what it expects
and what it got. The same types fix the columns of the tables (`arrow_type`), so cells always merge.
"""
from __future__ import annotations

import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np

#: Seeds are stored as int64 and fed to NumPy generators, which refuse negative seeds.
SEED_MAX = 2**63 - 1


class ParamError(ValueError):
    """A parameter value that its type does not accept (one line: parameter, expectation, value)."""


@dataclass(frozen=True)
class Range:
    """Bounds of a number: ge/le are inclusive, gt/lt exclusive; None means unbounded."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def __contains__(self, v: float) -> bool:
        return ((self.ge is None or v >= self.ge) and (self.gt is None or v > self.gt)
                and (self.le is None or v <= self.le) and (self.lt is None or v < self.lt))

    def describe(self) -> str:
        lo = f"[{_num(self.ge)}" if self.ge is not None else (f"({_num(self.gt)}" if self.gt is not None else None)
        hi = f"{_num(self.le)}]" if self.le is not None else (f"{_num(self.lt)})" if self.lt is not None else None)
        if lo and hi:
            return f"in {lo}, {hi}"
        if lo:
            return f"{'>=' if lo[0] == '[' else '>'} {lo[1:]}"
        if hi:
            return f"{'<=' if hi[-1] == ']' else '<'} {hi[:-1]}"
        return ""


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


#: Shorthands for the common cases.
Count = Annotated[int, Range(ge=1)]
NonNegativeInt = Annotated[int, Range(ge=0)]
Positive = Annotated[float, Range(gt=0)]
NonNegative = Annotated[float, Range(ge=0)]
Probability = Annotated[float, Range(ge=0, le=1)]
#: A cloud size: validate_inputs needs at least 10 points (contract.MIN_POINTS).
PointCount = Annotated[int, Range(ge=10)]

_BASES = (bool, int, float, str)


@dataclass(frozen=True)
class ParamType:
    """What one parameter accepts. base: bool, int, float, str, list (of `item`), or object (anything,
    stored as JSON); choices: the allowed values (from Literal); range: bounds of a number (of each item of
    a list); optional: None allowed."""

    base: type
    choices: tuple[Any, ...] | None = None
    range: Range | None = None
    optional: bool = False
    #: lists only: the type of every item (bool, int, float or str)
    item: type | None = None

    def describe(self) -> str:
        if self.base is list:
            text = "a list of " + {bool: "booleans", int: "integers", float: "finite numbers", str: "strings"}[
                self.item or str]
            if self.range is not None and self.range.describe():
                text += " " + self.range.describe()
            return text + (" or null" if self.optional else "")
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string",
                    object: "any value"}[self.base]
            if self.range is not None and self.range.describe():
                text += " " + self.range.describe()
        return text + (" or null" if self.optional else "")

    def coerce(self, value: Any, where: str = "parameter") -> Any:
        """The value as this type's canonical Python value; ParamError (one line) when it does not fit."""
        if value is None:
            if self.optional or self.base is object:
                return None
            raise ParamError(f"{where} expects {self.describe()}, got null")
        if self.base is list:
            items = [_coerce_base(self.item, v) for v in value] if isinstance(value, (list, tuple)) else [_REJECT]
            if any(v is _REJECT or (self.range is not None and v not in self.range) for v in items):
                raise ParamError(f"{where} expects {self.describe()}, got {_show(value)}")
            return items
        out = _coerce_base(self.base, value)
        if out is _REJECT:
            raise ParamError(f"{where} expects {self.describe()}, got {_show(value)}")
        if self.choices is not None and out not in self.choices:
            raise ParamError(f"{where} expects {self.describe()}, got {_show(value)}")
        if self.range is not None and out not in self.range:
            raise ParamError(f"{where} expects {self.describe()}, got {_show(value)}")
        return out

    def arrow_type(self):
        """The column type of this parameter in a cell file."""
        import pyarrow as pa

        return {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}.get(self.base, pa.string())


_REJECT = object()


def _show(value: Any) -> str:
    kind = "bool" if isinstance(value, (bool, np.bool_)) else type(value).__name__
    return f"{value!r} ({kind})"


def _coerce_base(base: type, value: Any) -> Any:
    is_bool = isinstance(value, (bool, np.bool_))
    if base is bool:
        return bool(value) if is_bool else _REJECT
    if base is int:
        if is_bool or not isinstance(value, numbers.Real):
            return _REJECT
        f = float(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        return int(f) if math.isfinite(f) and f.is_integer() and abs(f) < 2**63 else _REJECT
    if base is float:
        if is_bool or not isinstance(value, numbers.Real):
            return _REJECT
        f = float(value)
        return f if math.isfinite(f) else _REJECT
    if base is str:
        return value if isinstance(value, str) else _REJECT
    return _plain(value)  # object: anything representable as plain data


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        return [_plain(v) for v in value]
    return value


def _item_type(default: Any) -> type | None:
    """The item type of a list default: float if any item is a float, else the items' one type; None if mixed."""
    kinds = {type(v) for v in default}
    if kinds <= {int, float} and float in kinds:
        return float
    return kinds.pop() if len(kinds) == 1 and next(iter(kinds)) in _BASES else None


def param_type(annotation: Any, default: Any) -> ParamType:
    """The ParamType of an annotation (resolved, not a string), or of the default when there is none."""
    if annotation is None or annotation is type(None) or annotation is typing.Any:
        annotation = _EMPTY
    if annotation is _EMPTY:
        if default is None:
            return ParamType(object, optional=True)
        base = next((b for b in _BASES if type(default) is b), None)
        if base is None:
            item = _item_type(default) if isinstance(default, (list, tuple)) and default else None
            return ParamType(list, item=item) if item is not None else ParamType(object)
        return ParamType(base)
    rng = None
    if typing.get_origin(annotation) is Annotated:
        annotation, *extras = typing.get_args(annotation)
        rng = next((e for e in extras if isinstance(e, Range)), None)
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported parameter annotation {annotation!r}: use one type, optionally | None")
        inner = param_type(args[0], None if default is None else default)
        return ParamType(inner.base, inner.choices, inner.range or rng, optional or inner.optional)
    if origin is Literal:
        choices = typing.get_args(annotation)
        kinds = {type(c) for c in choices}
        base = kinds.pop() if len(kinds) == 1 and next(iter({type(c) for c in choices})) in _BASES else object
        return ParamType(base, tuple(choices), rng, optional)
    if origin in (list, tuple) and typing.get_args(annotation):
        item = typing.get_args(annotation)[0]
        item_rng = None
        if typing.get_origin(item) is Annotated:
            item, *extras = typing.get_args(item)
            item_rng = next((e for e in extras if isinstance(e, Range)), None)
        if item in _BASES:
            return ParamType(list, None, item_rng or rng, optional, item)
    if annotation in _BASES:
        return ParamType(annotation, None, rng, optional)
    return ParamType(object, None, rng, optional)


_EMPTY = object()


def signature_types(func: Callable[..., Any], names: list[str], defaults: Mapping[str, Any]) -> dict[str, ParamType]:
    """ParamTypes of the keyword parameters `names` of `func` (string annotations resolved)."""
    import inspect

    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - an annotation that does not resolve is the plugin's error
        raise TypeError(f"{func.__qualname__}: parameter annotations do not resolve ({exc})") from exc
    sig = inspect.signature(func)
    out = {}
    for name in names:
        ann = hints.get(name, _EMPTY) if sig.parameters[name].annotation is not inspect.Parameter.empty else _EMPTY
        out[name] = param_type(ann, defaults[name])
    return out


def coerce_seed(value: Any, where: str = "seed") -> int:
    """A seed: an integer in [0, 2^63 - 1] (int64 columns, NumPy generators)."""
    return ParamType(int, range=Range(ge=0, le=SEED_MAX)).coerce(value, where)
