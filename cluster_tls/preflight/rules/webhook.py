"""cert-manager's webhook: what it refuses (CM1), and one Certificate per Secret (CM2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ..engine import rule
from ..view import StackView, is_known
from ._common import (
    CERT_MANAGER,
    Findings,
    _certificates,
    _go_duration,
    _groups,
)

# cert-manager v1.21.1, internal/apis/certmanager/validation/certificate.go (ValidateCertificateSpec,
# validateIssuerRef, validateSecretTemplateAnnotations, ValidateDuration) and pkg/apis/certmanager/v1/const.go
# (MinimumCertificateDuration 1h, MinimumRenewBefore 5m): what its webhook refuses, so `pulumi up` would fail.
_MIN_DURATION, _MIN_RENEW_BEFORE, _DEFAULT_DURATION = timedelta(hours=1), timedelta(minutes=5), timedelta(hours=2160)
_SUBJECTS = ("commonName", "literalSubject", "dnsNames", "emailAddresses", "ipAddresses", "otherNames", "uris")


def _webhook_refusals(spec: dict) -> Iterator[str]:
    common_name = spec.get("commonName")
    if isinstance(common_name, str) and len(common_name.encode()) > 64:
        yield f"spec.commonName is {len(common_name.encode())} bytes; the webhook allows at most 64"
    if not any(spec.get(field) for field in _SUBJECTS):
        yield "set at least one of commonName, literalSubject, dnsNames, emailAddresses, ipAddresses, otherNames, uris"
    ref = spec.get("issuerRef") or {}
    if not ref.get("name") and is_known(ref):
        yield "spec.issuerRef.name must be specified"
    kind = ref.get("kind", "")
    if ref.get("group", "") in ("", CERT_MANAGER) and is_known(kind) and kind not in ("", "Issuer", "ClusterIssuer"):
        hint = " (did you forget to set spec.issuerRef.group?)" if not ref.get("group") else ""
        yield f"spec.issuerRef.kind {ref['kind']!r} must be one of Issuer or ClusterIssuer{hint}"
    annotations = (spec.get("secretTemplate") or {}).get("annotations") or {}
    for key in sorted(annotations):
        if str(key).startswith("cert-manager.io/") and key != "cert-manager.io/allow-direct-injection":
            yield f"spec.secretTemplate.annotations {key!r}: cert-manager.io/* annotations are not allowed"
    duration, renew = _go_duration(spec.get("duration")), _go_duration(spec.get("renewBefore"))
    percentage = spec.get("renewBeforePercentage")
    if spec.get("duration") is None or duration is not None:
        duration = duration or _DEFAULT_DURATION
        if duration < _MIN_DURATION:
            yield f"spec.duration {spec.get('duration')!r}: certificate duration must be greater than 1h0m0s"
        if renew is not None and percentage is not None:
            yield "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set"
        if renew is not None and renew < _MIN_RENEW_BEFORE:
            yield f"spec.renewBefore {spec['renewBefore']!r}: certificate renewBefore must be greater than 5m0s"
        if renew is not None and renew >= duration:
            yield f"spec.renewBefore {spec['renewBefore']!r}: the duration must be greater than renewBefore"
        if isinstance(percentage, int | float) and not isinstance(percentage, bool):
            derived = duration * (100 - percentage) / 100
            if derived < _MIN_RENEW_BEFORE or derived >= duration:
                yield f"spec.renewBeforePercentage {percentage}: must give a renewBefore from 5m0s up to the duration"


@rule("CM1", "error", "cert-manager's webhook admits every Certificate", per_object=True)
def certificates_the_webhook_admits(view: StackView) -> Findings:
    """Every Certificate of the program, the package's and hand-written ones alike (issue 18)."""
    for certificate in _certificates(view):
        if certificate.source == "chart" or not isinstance(certificate.body.get("spec"), dict):
            continue  # a spec that is a secret as a whole cannot be judged
        for refusal in _webhook_refusals(certificate.spec):
            yield certificate, f"cert-manager's webhook refuses it: {refusal}"


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
