"""What a message may echo of the user's input: one terminal line, control characters escaped, bounded (issue 19)."""

from __future__ import annotations

import unicodedata


def shown(text: str, limit: int = 80) -> str:
    """`text` with every control or format character written as an escape (`\\x1b`, `\\n`, `\\u202e`), and at most
    `limit` characters of it, the rest counted: an ESC sequence in a key cannot recolour or rewrite the terminal,
    and a 2,000,000-character value is not printed whole."""
    head = text[:limit]
    escaped = "".join(
        char.encode("unicode_escape").decode("ascii") if unicodedata.category(char) in ("Cc", "Cf") else char
        for char in head
    )
    return escaped + (f"... ({len(text) - limit} more characters)" if len(text) > limit else "")
