"""How records travel to the page: typed arrays, in binary frames or packed in JSON.

The live stream sends binary WebSocket frames (:func:`frame`): a little-endian ``u32`` header
length, the JSON header, zero padding to a multiple of 8 bytes, then the numeric columns as raw
little-endian arrays, each starting at a multiple of 8 bytes from the end of the padding. The
header describes each such column as ``{"type": T, "offset": bytes, "bytes": bytes}`` where
``T`` is ``f64``, ``i32``, ``u16`` or ``u8``; the page views it in place as a
``Float64Array``, ``Int32Array``, ``Uint16Array`` or ``Uint8Array``. Other columns (text,
``None``) are JSON lists in the header.

JSON responses (a stored run's records, the Server-Sent Events stream for scripts) carry the
same columns packed (:func:`pack`): ``{"f64": B}`` and so on, ``B`` the base64 of the array.

Writing numbers as text is what costs most when a fast run is streamed, and the cost is paid
in the run's own process (the server shares its interpreter). Columns whose kind is known
(:data:`COLUMN_KINDS`, from the declared schema of the recorded tables) are therefore
converted straight from the recorder's lists by :mod:`array` (one C loop, no type
inference), codes take one byte each while their registry is small, and nothing is encoded
twice.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin.observation.schema import wire_kinds

COLUMN_KINDS: dict[str, dict[str, str]] = wire_kinds()
"""Stream kind (``f64``, ``int``, ``code``) of each numeric column of each recorded table
(:func:`twin.observation.schema.wire_kinds`)."""
LITTLE = sys.byteorder == "little"
EXACT = 2**53
"""Integers up to this size are exact as doubles (larger ones travel as JSON numbers)."""


@dataclass(frozen=True, slots=True)
class Packed:
    """One packed column: its array type (``f64``, ``i32``, ``u16``, ``u8``) and base64 text."""

    kind: str
    text: str

    def json(self) -> str:
        """The column as JSON: ``{"<kind>":"<base64>"}`` (base64 needs no escaping)."""
        return f'{{"{self.kind}":"{self.text}"}}'


def _b64(buffer: Any) -> str:
    return base64.b64encode(memoryview(buffer)).decode("ascii")


def _typed(code: str, values: Sequence[Any]) -> array:
    arr = array(code, values)
    if not LITTLE:
        arr.byteswap()
    return arr


Encoded = tuple[str, Any]
"""An encoded column: its array type and a buffer holding the little-endian values."""


def _declared(col: Sequence[Any], kind: str) -> Encoded | None:
    """A column of a known kind, converted without inference; ``None`` if it does not fit.

    ``f64``: floats; ``int``: integers (``i32``, ``f64`` past 2**31 up to 2**53, beyond
    that left to JSON);
    ``code``: registry codes (``u8`` below 256, then ``u16``, then ``i32``).
    """
    try:
        if kind == "f64":
            return ("f64", _typed("d", col))
        if kind == "int":
            try:
                return ("i32", _typed("i", col))
            except OverflowError:
                exact = -EXACT <= min(col) and max(col) <= EXACT
                return ("f64", _typed("d", col)) if exact else None
        if kind == "code":
            try:  # bytes() of a list is the fastest conversion there is; other sequences
                # (arrays) would hand over their memory, not their values
                return ("u8", bytes(col) if isinstance(col, list) else _typed("B", col))
            except (ValueError, OverflowError):
                pass
            try:
                return ("u16", _typed("H", col))
            except OverflowError:
                return ("i32", _typed("i", col))
    except (TypeError, OverflowError):  # None, text or out of range: left to inference
        return None
    raise ValueError(f"unknown column kind {kind!r}")


def _inferred(col: Sequence[Any]) -> Encoded | None:
    """A numeric column of unknown kind (integers as ``i32`` when they fit, else ``f64``)."""
    if not len(col) or type(col[0]) not in (int, float):
        return None
    try:
        arr = np.asarray(col)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 1 or arr.dtype.kind not in "fiu":
        return None
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if -(2**31) <= lo and hi < 2**31:
            return ("i32", arr.astype("<i4"))
        if not (-EXACT <= lo and hi <= EXACT):
            return None  # a double would round it: JSON keeps it exact
    return ("f64", arr.astype("<f8"))


def encode(col: Sequence[Any], kind: str | None = None) -> Encoded | None:
    """A column as a typed array, or ``None`` if it is not numeric (it then travels as JSON).

    ``kind`` (``f64``, ``int``, ``code``) says what the column holds; without it, or if the
    values do not fit it, the type is inferred.
    """
    return (_declared(col, kind) if kind and len(col) else None) or _inferred(col)


Records = Mapping[str, Mapping[str, Sequence[Any]]]
"""Records by table: ``{table: {column: values}}``."""


def _columns(records: Records, kinds: Mapping[str, Mapping[str, str]],
             place: Callable[[Sequence[Any], Encoded | None], Any]) -> dict[str, dict[str, Any]]:
    """Every column encoded (:func:`encode`) and put in its place by ``place(values, enc)``."""
    return {table: {name: place(col, encode(col, kinds.get(table, {}).get(name)))
                    for name, col in cols.items()}
            for table, cols in records.items()}


def pack(records: Records, kinds: Mapping[str, Mapping[str, str]] = COLUMN_KINDS
         ) -> dict[str, dict[str, Any]]:
    """Records with their numeric columns packed as base64 (:class:`Packed`)."""
    return _columns(records, kinds,
                    lambda col, enc: Packed(enc[0], _b64(enc[1])) if enc else col)


def frame(header: Mapping[str, Any], records: Records,
          kinds: Mapping[str, Mapping[str, str]] = COLUMN_KINDS) -> bytes:
    """One binary message: ``header`` (JSON-able) with ``records`` laid out as described in
    the module docstring (the header gets a ``records`` key describing every column)."""
    buffers: list[Any] = []
    offset = 0

    def place(col: Sequence[Any], enc: Encoded | None) -> Any:
        nonlocal offset
        if enc is None:
            return col
        view = memoryview(enc[1]).cast("B")
        where = {"type": enc[0], "offset": offset, "bytes": view.nbytes}
        pad = -view.nbytes % 8
        buffers.extend([view, bytes(pad)] if pad else [view])
        offset += view.nbytes + pad
        return where

    described = _columns(records, kinds, place)
    head = dumps({**header, "records": described}).encode()
    start = struct.pack("<I", len(head))
    return b"".join([start, head, bytes(-(len(start) + len(head)) % 8), *buffers])


def clean(obj: Any) -> Any:
    """A JSON-safe copy: NumPy values as Python ones, NaN, infinities and NA as ``None``."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def _plain(obj: Any) -> str:
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):  # a NaN or a NumPy value somewhere: clean it
        return json.dumps(clean(obj), allow_nan=False, separators=(",", ":"))


def dumps(obj: Any) -> str:
    """Compact JSON (no NaN: ``null``), with :class:`Packed` columns written as they are."""
    if isinstance(obj, Packed):
        return obj.json()
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    return _plain(obj)
