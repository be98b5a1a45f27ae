"""Index keys: what `x[...]` selects, as a static param the op table's `index` and `gather`
entries take (ops.py).

A key is text in numpy's own spelling, one component per axis, separated by ", ": an integer
(`0`, `-1`), a slice (`1:3`, `:`, `::2`), `None` (a new axis of length 1), `...` (every axis
not named), or `@`, the place of an integer array. A key is a string so that it is a hashable
literal like every other param, prints as the node's formula writes it (`x[1:3, :]`), and
travels in the answer as it is. The arrays themselves are data, not params: the `gather` op
takes them as its second operand: the array itself for a key with one `@` (`C[X]` reads the
node X), else one array per `@`, stacked on axis 0 after broadcasting (`p[arange(n), y]` is
`gather(p, stack([arange(n), y]))` with the key `@, @`). Indices are
never differentiated: they say where, not how much.

The shape of a result follows numpy's rules for mixing basic and advanced indices: the
advanced ones (the arrays, and the integers beside them) broadcast together; their shape takes
the place of the first of them when they stand next to each other, and goes first otherwise.
It is computed from the shapes alone, never by indexing, so a key that would make a huge array
is refused before any memory is used.
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any

import numpy as np

Component = int | slice | None | EllipsisType | str
ARRAY = "@"  # the place of an index array in a key


def parse_key(text: str) -> tuple[Component, ...]:
    """A key's components (ValueError for text that is not a key)."""
    return tuple(_component(part.strip()) for part in text.split(","))


def _component(part: str) -> Component:
    if part == ARRAY:
        return ARRAY
    if part == "None":
        return None
    if part == "...":
        return Ellipsis
    if ":" in part:
        bounds = part.split(":")
        if len(bounds) > 3:
            raise ValueError(f"{part!r} is not a slice")
        return slice(*(int(b) if b.strip() else None for b in bounds))
    return int(part)


def key_text(components: tuple[Component, ...]) -> str:
    """The text of a key: the components in numpy's spelling, joined by ", "."""
    return ", ".join(_text(c) for c in components)


def _text(c: Component) -> str:
    if c is Ellipsis:
        return "..."
    if isinstance(c, slice):
        parts = ["" if v is None else str(v) for v in (c.start, c.stop, c.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if c.step is not None else "")
    return str(c)


def arrays_in(text: str) -> int:
    """How many index arrays a key places."""
    return sum(c == ARRAY for c in parse_key(text))


def numpy_key(text: str, arrays: np.ndarray | None = None) -> Any:
    """The key as numpy indexes with it: `@` replaced by the arrays (the one array, or several
    stacked on axis 0; as floats or ints: they are made integers here)."""
    components = parse_key(text)
    if arrays is None:
        return components
    ints = np.rint(arrays).astype(np.intp)
    picked = iter(ints if sum(c == ARRAY for c in components) > 1 else [ints])
    return tuple(next(picked) if c == ARRAY else c for c in components)


def batched_key(text: str, ndim: int) -> Any:
    """The key of a batched array (axis 0 the batch) of rank `ndim` + 1: the batch kept whole."""
    return (slice(None), *explicit(text, ndim))


def explicit(text: str, ndim: int) -> tuple[Component, ...]:
    """A key's components with `...` written out as the slices it stands for (and none
    after the last named axis): the key of an array of rank `ndim`."""
    components = parse_key(text)
    if Ellipsis not in components:
        return components
    at = components.index(Ellipsis)
    named = sum(c is not None and c is not Ellipsis for c in components)
    return components[:at] + (slice(None),) * (ndim - named) + components[at + 1:]


def indexed_shape(shape: tuple[int, ...], text: str,
                  index_shape: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The shape of `x[key]` for `x` of `shape`, the index arrays broadcast to `index_shape`
    (ValueError, in words, for a key that does not fit the shape)."""
    components = parse_key(text)
    named = sum(c is not None and c is not Ellipsis for c in components)
    if named > len(shape):
        raise ValueError(f"the index [{text}] names {named} axes, but the array has shape "
                         f"{list(shape)} ({len(shape)} axes)")
    if sum(c is Ellipsis for c in components) > 1:
        raise ValueError(f"the index [{text}] has more than one ...")
    if Ellipsis in components:
        at = components.index(Ellipsis)
        fill = (slice(None),) * (len(shape) - named)
        components = components[:at] + fill + components[at + 1:]
    else:
        components += (slice(None),) * (len(shape) - named)
    has_arrays = ARRAY in components
    advanced = [k for k, c in enumerate(components)
                if c == ARRAY or has_arrays and isinstance(c, int)]
    out: list[int | None] = []  # None: where the advanced indices' shape goes
    axis = 0
    for c in components:
        if c is None:
            out.append(1)
            continue
        n = shape[axis]
        axis += 1
        if c == ARRAY or has_arrays and isinstance(c, int):
            if isinstance(c, int):
                _check_int(c, n, axis - 1, text)
            if None not in out:
                out.append(None)
        elif isinstance(c, slice):
            out.append(len(range(*c.indices(n))))
        else:
            _check_int(c, n, axis - 1, text)  # type: ignore[arg-type]
    if not has_arrays:
        return tuple(d for d in out if d is not None)
    together = advanced == list(range(advanced[0], advanced[-1] + 1))
    rest = [d for d in out if d is not None]
    if together:
        at = out.index(None)
        return (*rest[:at], *index_shape, *rest[at:])
    return (*index_shape, *rest)


def _check_int(i: int, n: int, axis: int, text: str) -> None:
    if not -n <= i < n:
        raise ValueError(f"index {i} is out of range for axis {axis} of length {n} (in [{text}])")


def check_arrays(shape: tuple[int, ...], text: str, arrays: np.ndarray) -> None:
    """Refuse index arrays (as `numpy_key` takes them) that are not integers in range of the
    axes they index (ValueError in words: the first bad value and its axis)."""
    if not np.array_equal(arrays, np.round(arrays)):
        raise ValueError("index arrays must hold integers")
    components = explicit(text, len(shape))
    axis = 0
    arrays_iter = iter(arrays if arrays_in(text) > 1 else [arrays])
    for c in components:
        if c is None:
            continue
        if c == ARRAY:
            values, n = next(arrays_iter), shape[axis]
            bad = (values < -n) | (values >= n)
            if bad.any():
                raise ValueError(f"index {int(values[bad].flat[0])} is out of range for axis "
                                 f"{axis} of length {n}")
        axis += 1



def split_key(key: object) -> tuple[tuple[Component, ...], list[np.ndarray]]:
    """A key as Python, numpy and torch code write it (`x[0]`, `x[1:3, None]`,
    `x[np.arange(n), y]`, `x[mask]`), its tensors already numpy arrays: the components (an
    `@` for each index array) and the integer arrays (a boolean mask becomes the integer
    arrays of its True places, one per axis it covers, as numpy reads it). ValueError, in
    words, for anything else."""
    parts = key if isinstance(key, tuple) else (key,)
    components: list[Component] = []
    arrays: list[np.ndarray] = []
    for part in parts:
        if part is None or part is Ellipsis:
            components.append(part)
        elif isinstance(part, (bool, np.bool_)):
            raise ValueError("a single True or False cannot index: use a mask array")
        elif isinstance(part, (int, np.integer)):
            components.append(int(part))
        elif isinstance(part, slice):
            bounds = (part.start, part.stop, part.step)
            if not all(b is None or isinstance(b, (int, np.integer)) and not isinstance(
                    b, (bool, np.bool_)) for b in bounds):
                raise ValueError("a slice's bounds must be integers")
            components.append(slice(*(None if b is None else int(b) for b in bounds)))
        else:
            array = np.asarray(part)
            if array.dtype == bool:
                for places in np.nonzero(array):
                    components.append(ARRAY)
                    arrays.append(places)
            elif np.issubdtype(array.dtype, np.integer):
                components.append(ARRAY)
                arrays.append(array)
            else:
                raise ValueError(f"an index of {array.dtype} cannot index: indices are "
                                 "integers, slices, None, ... or boolean masks")
    return tuple(components), arrays


def array_text(array: np.ndarray) -> str:
    """How a formula writes an index array: its numbers when there are a few, else its shape."""
    if array.size <= 6:
        return str(array.astype(np.int64).tolist())
    return f"ints{list(array.shape)}"
