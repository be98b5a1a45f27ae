"""Numbers as JSON: scalars as numbers, arrays as nested lists, non-finite values as strings.

JSON has no NaN or Infinity, so they travel as the strings "NaN", "Infinity" and "-Infinity"
(the names JavaScript gives them); every such value is also reported in `warnings`.
"""

from __future__ import annotations

import math

import numpy as np

JSONValue = float | str | list["JSONValue"]
NON_FINITE = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}


def _scalar(x: float) -> float | str:
    if np.isnan(x):
        return "NaN"
    if x in (np.inf, -np.inf):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def is_number(array: np.ndarray | float) -> bool:
    """Whether `array` holds one number: a float, a numpy scalar or a 0-d array (asked without
    numpy's function dispatch, which costs more than the rest of a scalar's encoding)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return array.ndim == 0
    return isinstance(array, float) or np.ndim(array) == 0


def all_finite(array: np.ndarray | float) -> bool:
    """Whether every element is finite (a scalar without numpy's reduction machinery)."""
    if is_number(array):
        return math.isfinite(float(array))  # type: ignore[arg-type]
    return bool(np.isfinite(array).all())


def encode(array: np.ndarray | float) -> JSONValue:
    """A float for a 0-d array, nested lists otherwise; NaN and infinities as strings."""
    if is_number(array):
        x = float(array)
        return x if math.isfinite(x) else _scalar(x)
    array = np.asarray(array, dtype=np.float64)
    if all_finite(array):
        return array.tolist()  # type: ignore[no-any-return]
    if array.ndim == 0:
        return _scalar(float(array))
    return np.vectorize(_scalar, otypes=[object])(array).tolist()  # type: ignore[no-any-return]


def decode(value: JSONValue) -> np.ndarray:
    """The inverse of `encode`: a float64 array."""
    if isinstance(value, str):
        return np.asarray(NON_FINITE[value])
    if isinstance(value, list):
        return np.asarray([decode(v) for v in value], dtype=np.float64)
    return np.asarray(value, dtype=np.float64)
