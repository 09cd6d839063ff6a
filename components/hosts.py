"""DNS names as TLS sees them: which certificate names cover which host, and domains in IDNA form."""

from __future__ import annotations

import re
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


class CertificateNames:
    """A certificate's names, asked whether they cover a host in constant time (`covers` for each name would make
    10,000 hosts against 10,000 names 10^8 comparisons, issue 20)."""

    def __init__(self, names: Iterable[str]):
        self.exact = set(names)
        self.wildcard_parents = {name[2:] for name in self.exact if name.startswith("*.")}

    def cover(self, host: str) -> bool:
        if host in self.exact:
            return True
        if host.startswith("*."):
            return False
        label, _, rest = host.partition(".")
        return bool(label) and rest in self.wildcard_parents


def covered(names: Iterable[str] | CertificateNames, host: str) -> bool:
    return (names if isinstance(names, CertificateNames) else CertificateNames(names)).cover(host)


def to_ascii(domain: str) -> str:
    """A domain in the ASCII form certificates and DNS use: `例子.com` -> `xn--fsqu00a.com` (IDNA 2008, UTS #46)."""
    wildcard = domain.startswith("*.")
    body = domain[2:] if wildcard else domain
    try:
        ascii_body = idna.encode(body.rstrip("."), uts46=True).decode()
    except idna.IDNAError as error:
        # idna's reason quotes the label it refused: a part of a value that may be secret, which the secret guard
        # (whole values and their derived forms) would not recognise (issue 31). The caller shows the value.
        reason = re.sub(r"\s*(?:of|in)?\s*'[^']*'", "", str(error))
        raise ValueError(f"not a valid domain name: {reason}") from None
    return ("*." if wildcard else "") + ascii_body
