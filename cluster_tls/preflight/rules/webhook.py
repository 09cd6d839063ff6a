"""cert-manager's webhook: what it refuses (CM1), and one Certificate per Secret (CM2)."""

from __future__ import annotations

import re
from typing import Any

from ..certmanager_webhook import certificate_refusals, gates, issuer_refusals
from ..engine import rule
from ..view import StackView, all_known, is_known
from ._common import (
    CERT_MANAGER,
    Findings,
    _certificates,
    _groups,
)
from .schemas import as_received, installed_cert_manager


def _gates(view: StackView) -> dict[str, bool]:
    """The installed webhook's feature gates: the pinned chart version's defaults and its webhook.featureGates."""
    release = view.release("cert-manager")
    values = release.values if release is not None and isinstance(release.values, dict) else {}
    version = release.version if release is not None and is_known(release.version) else None
    overrides = (values.get("webhook") or {}).get("featureGates")
    return gates(version, overrides if is_known(overrides) else None)


@rule("CM1", "error", "cert-manager's webhook admits every Certificate, Issuer and ClusterIssuer")
def what_the_webhook_admits(view: StackView) -> Findings:
    """Every one of the program, the package's and hand-written ones alike (issues 18, 29), judged as the pinned
    cert-manager's webhook judges it (cluster_tls/preflight/certmanager_webhook.py, whose judge is the real
    webhook in the real-engine tier). A refusal that rests on an unknown value (a secret, or one `pulumi preview`
    does not know yet) is not made: that value may be anything; the rest of the object is still judged."""
    gate = _gates(view)
    installed = installed_cert_manager(view)
    for obj in [*_certificates(view), *view.of("Issuer", CERT_MANAGER), *view.of("ClusterIssuer", CERT_MANAGER)]:
        spec = as_received(obj, installed).get("spec")  # a field the installed release lacks never reaches it (S2)
        if obj.source == "chart" or not isinstance(spec, dict):
            continue  # a chart's own object; a spec that is a secret as a whole
        refusals = certificate_refusals(spec, gate) if obj.kind == "Certificate" else issuer_refusals(spec)
        for refusal in refusals:
            if all(all_known(_leaves(spec.get(field))) for field in _resting_on(refusal)):
                yield obj, f"cert-manager's webhook refuses it: {refusal}"


_SUBJECT = ("commonName", "literalSubject", "subject")
_RENEWAL = ("duration", "renewBefore", "renewBeforePercentage")
# The fields a refusal rests on, by the field its message names (the webhook's field path).
_RESTS_ON = {
    "": ("commonName", "literalSubject", "dnsNames", "uris", "emailAddresses", "ipAddresses", "otherNames"),
    **dict.fromkeys(_SUBJECT, _SUBJECT),
    **dict.fromkeys(_RENEWAL, _RENEWAL),
    **dict.fromkeys(("privateKey", "signatureAlgorithm"), ("privateKey", "signatureAlgorithm")),
    "nameConstraints": ("nameConstraints", "isCA"),
}


def _resting_on(refusal: str) -> tuple[str, ...]:
    field = re.match(r"spec\.?([A-Za-z0-9]*)", refusal)
    name = field.group(1) if field else ""
    return _RESTS_ON.get(name, (name,))


@rule("CM2", "error", "one Certificate per Secret")
def one_certificate_per_secret(view: StackView) -> Findings:
    """Two Certificates (the package's, hand-written or a chart's) writing one Secret re-issue over each other
    forever, and whatever reads the Secret gets either."""
    written = _groups(_certificates(view), lambda c: c.spec.get("secretName") and (c.namespace, c.spec["secretName"]))
    for (namespace, secret), certificates in written:
        for certificate in certificates[1:]:
            yield (
                certificate,
                f"writes Secret {namespace}/{secret}, as {certificates[0].describe()} does: give each its own secretName",
            )


def _leaves(value: Any) -> list[Any]:
    """`value` and everything in it."""
    if isinstance(value, dict):
        return [value, *(leaf for v in value.values() for leaf in _leaves(v))]
    if isinstance(value, list):
        return [value, *(leaf for v in value for leaf in _leaves(v))]
    return [value]
