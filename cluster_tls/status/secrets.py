"""What a live certificate Secret holds, read without keeping or printing its key: the leaf and CA certificates."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ..components.hosts import covered


@dataclass(frozen=True)
class Held:
    leaf: x509.Certificate | None
    ca: x509.Certificate | None
    problem: str = ""

    @property
    def serial(self) -> str:
        return f"{self.leaf.serial_number:x}" if self.leaf is not None else "-"

    def names(self) -> list[str]:
        if self.leaf is None:
            return []
        try:
            names = self.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            return list(names.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            return []

    def covers(self, host: str) -> bool:
        return covered(self.names(), host)


def _pem(data: dict[str, Any], key: str) -> x509.Certificate | None:
    raw = data.get(key)
    if not raw:
        return None
    try:
        return x509.load_pem_x509_certificates(base64.b64decode(raw))[0]
    except (ValueError, binascii.Error, IndexError):
        return None


def held(secret: dict[str, Any]) -> Held:
    data = secret.get("data") or {}
    leaf = _pem(data, "tls.crt")
    problem = "" if leaf is not None else ("no tls.crt" if not data.get("tls.crt") else "tls.crt is not a certificate")
    return Held(leaf, _pem(data, "ca.crt"), problem)


def issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether `ca`'s key signed `leaf` (the signature checked, not only the names)."""
    try:
        leaf.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):  # the issuer's name or its key differs
        return False
