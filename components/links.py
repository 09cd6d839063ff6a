"""What one component hands to the next in a stack: an issuer, a certificate Secret.

A stack names the provider instead of retyping its output (`issuerFrom: privateCa`,
`certificateFrom: dnspod`); the program resolves the name to the provider's own references before anything
is planned or registered, so a renamed issuer or Secret cannot drift apart between two components.
"""

from __future__ import annotations

from dataclasses import dataclass

from .certmanager.specs import IssuerRef


@dataclass(frozen=True)
class ProvidedCertificate:
    secret_name: str
    dns_names: tuple[str, ...]
    namespaces: tuple[str, ...]  # where the Secret is usable
    has_ca: bool  # the Secret carries ca.crt (a CA issuer's, not an ACME one)


@dataclass(frozen=True)
class Provided:
    issuer: IssuerRef | None = None
    certificate: ProvidedCertificate | None = None


class LinkError(ValueError):
    """A link names no provider, or a provider that does not offer what the link needs."""
