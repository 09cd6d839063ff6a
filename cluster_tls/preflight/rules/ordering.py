"""A. Ordering and readiness: cert-manager objects and the consumers of certificate Secrets wait for what they need."""

from __future__ import annotations

from ..engine import rule
from ..view import StackView
from ._common import (
    CERT_MANAGER,
    Findings,
    _consumers,
    _secret_producers,
)


@rule("A3", "error", "cert-manager objects wait for the cert-manager install")
def cert_manager_objects_wait_for_the_install(view: StackView) -> Findings:
    release = view.release("cert-manager")
    if release is None or not release.urn:
        return
    for obj in view.objects:
        if obj.group in (CERT_MANAGER, "acme.cert-manager.io") and obj.urn and not view.waits_for(obj.urn, release.urn):
            yield (
                obj,
                f"depend on the cert-manager release {release.name!r}, or its webhook rejects it on a fresh cluster",
            )


@rule("A5", "warning", "consumers of a certificate Secret wait for the Certificate")
def consumers_wait_for_their_certificate(view: StackView) -> Findings:
    for consumer, namespace, secret in _consumers(view):
        for certificate in _secret_producers(view, namespace, secret):
            waits = (certificate.metadata.get("annotations") or {}).get("pulumi.com/waitFor")
            if not waits:
                yield certificate, f"add pulumi.com/waitFor: condition=Ready, {consumer.describe()} reads its Secret"
            elif consumer.urn and certificate.urn and not view.waits_for(consumer.urn, certificate.urn):
                yield consumer, f"depend on {certificate.describe()}, whose Secret it reads"
