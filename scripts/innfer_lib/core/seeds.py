"""Seeds derived from names, so every job draws its own stream from the one workflow seed.

A job that depends on (seed, process, category, ...) must draw the same numbers whichever
machine, process or Python version runs it; Python's `hash` of a string changes between runs,
CRC-32 does not.
"""

import zlib


def stable_seed(*parts: object) -> list[int]:
    """A seed sequence for `numpy.random.default_rng` built from the parts' string forms."""
    return [zlib.crc32(str(p).encode()) for p in parts]
