"""Damage the way disks and people do, for the integrity tests (importable from every test folder)."""

from __future__ import annotations

from pathlib import Path


def flip(path: Path, offset: int, length: int = 4096) -> None:
    """Invert `length` bytes at `offset`, the size unchanged (what a bad disk block does)."""
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = bytes(b ^ 0xFF for b in data[offset : offset + length])
    path.write_bytes(bytes(data))
