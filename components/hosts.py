"""DNS names as TLS sees them: which certificate names cover which host, and domains in IDNA form."""

from __future__ import annotations

from collections.abc import Iterable

import idna


def covers(name: str, host: str) -> bool:
    """Whether certificate name `name` covers `host`: equal, or a wildcard for exactly one more label.

    RFC 6125 §6.4.3 as Go, OpenSSL and browsers apply it: `*.example.com` covers `a.example.com`, not
    `example.com` and not `a.b.example.com`.
    """
    if name == host:
        return True
    if not name.startswith("*.") or host.startswith("*."):
        return False
    label, _, rest = host.partition(".")
    return bool(label) and rest == name[2:]


def covered(names: Iterable[str], host: str) -> bool:
    return any(covers(name, host) for name in names)


def to_ascii(domain: str) -> str:
    """A domain in the ASCII form certificates and DNS use: `例子.com` -> `xn--fsqu00a.com` (IDNA 2008, UTS #46)."""
    wildcard = domain.startswith("*.")
    body = domain[2:] if wildcard else domain
    try:
        ascii_body = idna.encode(body.rstrip("."), uts46=True).decode()
    except idna.IDNAError as error:
        raise ValueError(f"{domain!r} is not a valid domain name: {error}") from None
    return ("*." if wildcard else "") + ascii_body
