"""JSON from strangers: one parser for every request body, bounded in nesting and number size, with one error."""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_INT_DIGITS = 30
MAX_FLOAT_CHARS = 40

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Escapes of UTF-16 surrogates; only then is the slower exact check of the parsed strings needed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class JsonRefused(ValueError):
    """The body is not JSON this service accepts; the message says why, in words fit for a 400 answer."""


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted outside strings."""
    # Without escapes, every quote delimits a string, so every other piece between quotes is outside one.
    outside = "".join(_ESCAPE.sub("", text).split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonRefused(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_FLOAT_CHARS:
        raise JsonRefused(f"a number is longer than {MAX_FLOAT_CHARS} characters")
    value = float(literal)
    if not math.isfinite(value):
        raise JsonRefused("a number is out of range")
    return value


def _constant(name: str) -> Any:
    # Python's json module reads NaN and Infinity, which are not JSON (RFC 8259).
    raise JsonRefused(f"{name} is not a JSON value")


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in the value holds a UTF-16 surrogate (which cannot be stored or sent as UTF-8)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse(raw: bytes) -> Any:
    """The JSON value of a UTF-8 body; JsonRefused for bad encoding or syntax, deep nesting, huge or
    non-finite numbers, NaN/Infinity and unpaired surrogates."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRefused("the body is not UTF-8") from None
    # Checked before parsing: the json module recurses per level and would raise RecursionError.
    if _depth(text) > MAX_DEPTH:
        raise JsonRefused(f"the body is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as err:
        raise JsonRefused(f"the body is not valid JSON ({err.msg} at character {err.pos})") from None
    except RecursionError:
        raise JsonRefused("the body is nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JsonRefused("the body holds a string that is not valid Unicode")
    return value
