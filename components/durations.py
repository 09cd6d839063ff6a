"""Go `time.Duration` strings, the format cert-manager uses for `duration` and `renewBefore`.

cert-manager parses these with Go's `time.ParseDuration` (units ns, us/µs, ms, s, m, h; no days).
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)
# Go stores a Duration as int64 nanoseconds: time.ParseDuration refuses anything longer ("invalid duration").
_MAX_SECONDS = (2**63 - 1) / 1e9
_MAX_LENGTH = 256  # far more than any duration a person writes; bounds the work on a hostile value


def parse_go_duration(text: str) -> timedelta:
    """Parse a Go duration such as ``2160h`` or ``1h30m``; raise ValueError on anything else."""
    if not isinstance(text, str) or not text:
        raise ValueError("must be a Go duration such as '2160h' or '1h30m'")
    body = text[1:] if text[0] in "+-" else text
    if text.startswith("-"):
        raise ValueError("must not be negative")
    if body == "0":
        return timedelta(0)
    if len(body) > _MAX_LENGTH:
        raise ValueError(f"is {len(text)} characters long: no Go duration is")
    pos, seconds = 0, 0.0
    # Anchored at each part's end: a search would retry every later position, quadratic in a long run of digits.
    while (match := _PART.match(body, pos)) is not None:
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(body) or pos == 0:
        raise ValueError("must be a Go duration such as '2160h' or '1h30m' (units h, m, s, ms; days are not accepted)")
    if seconds > _MAX_SECONDS:
        raise ValueError("is out of range: Go durations end at about 2562047h (292 years)")
    return timedelta(seconds=seconds)
