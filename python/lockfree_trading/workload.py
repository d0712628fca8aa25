"""Seeded order-flow workloads for benchmarks: generate, save, load, replay.

The generator lives in Rust (crate ``lft-workload``) so the same seed gives the same
stream on every machine. A stream is a numpy structured array of :data:`DTYPE` records;
on disk it is the compact binary format: a 16-byte header (``LFTW``, version 1, record
count) followed by the 40-byte little-endian records.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ._core import generate_workload
from .errors import InvalidConfig

__all__ = ["DTYPE", "KIND_CANCEL", "KIND_MODIFY", "KIND_NEW", "SCENARIOS", "generate", "load", "save"]

#: One command: kind (0 new, 1 cancel, 2 modify), side (0 buy, 1 sell), tif (0 GTC,
#: 1 IOC), flags, symbol index, reserved, order id, price in ticks, quantity in lots,
#: timestamp in ns since the start of the stream.
DTYPE: Final = np.dtype(
    [
        ("kind", "u1"),
        ("side", "u1"),
        ("tif", "u1"),
        ("flags", "u1"),
        ("symbol", "<u2"),
        ("reserved", "<u2"),
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("quantity", "<i8"),
        ("timestamp", "<i8"),
    ]
)
KIND_NEW: Final = 0
KIND_CANCEL: Final = 1
KIND_MODIFY: Final = 2
#: The project's scenarios, then the five public-benchmark shapes (``pub-*``: see
#: ``lft-bench shape`` and the README's "Public-shape scenarios").
SCENARIOS: Final = (
    "static",
    "normal",
    "swing",
    "flash-crash",
    "pub-static",
    "pub-normal",
    "pub-swing-25",
    "pub-swing-40",
    "pub-flash-crash",
)
_MAGIC: Final = b"LFTW"
_HEADER: Final = struct.Struct("<4sIQ")


def generate(
    scenario: str, count: int, seed: int = 42, symbols: int = 1, uniform: bool = False
) -> npt.NDArray[Any]:
    """`count` commands of `scenario` (one of :data:`SCENARIOS`) over `symbols` symbols,
    whose activity follows a Pareto law (or is equal with `uniform`)."""
    raw = generate_workload(scenario, count, seed, symbols, uniform)
    return np.frombuffer(raw, dtype=DTYPE)


def save(path: str | Path, stream: npt.NDArray[Any]) -> None:
    """Write a stream in the binary format."""
    if stream.dtype != DTYPE:
        raise InvalidConfig(f"stream must have the workload dtype, got {stream.dtype}")
    try:
        with open(path, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, 1, len(stream)))
            f.write(np.ascontiguousarray(stream).tobytes())
    except OSError as e:
        raise InvalidConfig(f"{path}: cannot write the stream: {e.strerror}") from None


def load(path: str | Path) -> npt.NDArray[Any]:
    """Read a stream written by :func:`save` or ``trading-system generate``."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidConfig(f"{path}: cannot read the stream: {e.strerror}") from None
    if len(data) < _HEADER.size:
        raise InvalidConfig(f"{path}: too short to be a workload stream")
    magic, version, count = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != 1:
        raise InvalidConfig(f"{path}: not a version-1 workload stream")
    body = data[_HEADER.size :]
    if len(body) != count * DTYPE.itemsize:
        raise InvalidConfig(f"{path}: header says {count} records but {len(body)} bytes follow")
    return np.frombuffer(body, dtype=DTYPE)
