"""Deterministic identifiers: UUIDs and NPIs from the population's own random streams."""

import hashlib

import numpy as np
import polars as pl


def stream(seed: int, tenant_slug: str, name: str) -> np.random.Generator:
    """An independent generator per (seed, tenant, purpose): adding a table or a draw in one
    part of the population never shifts the numbers of another."""
    digest = hashlib.sha256(f"{tenant_slug}\x00{name}".encode()).digest()
    key = [seed, *np.frombuffer(digest[:16], dtype=np.uint32).tolist()]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` version-4 UUIDs as strings, drawn from `rng`."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype(str)
    text = pl.Series(hexed)
    return (
        text.str.slice(0, 8)
        + "-"
        + text.str.slice(8, 4)
        + "-"
        + text.str.slice(12, 4)
        + "-"
        + text.str.slice(16, 4)
        + "-"
        + text.str.slice(20, 12)
    )


def _luhn_digit(body: str) -> int:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npis(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct valid NPIs: nine digits and the Luhn check digit over '80840' + them."""
    drawn = rng.integers(100_000_000, 300_000_000, size=2 * n + 8)
    _, first = np.unique(drawn, return_index=True)
    bases = drawn[np.sort(first)][:n]
    return [f"{base}{_luhn_digit('80840' + str(base))}" for base in bases]
