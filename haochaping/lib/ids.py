"""Time-ordered UUIDs (the UUIDv7 layout of RFC 9562) for records written at high rates.

Random UUIDv4 keys land anywhere in the unique index, so each insert touches a cold page; time-ordered keys
append near the end of it. The 48-bit millisecond timestamp reveals no more than the record's own time.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits, 74 of them kept
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 64) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return uuid.UUID(int=value)
