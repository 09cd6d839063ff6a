"""C. Self-signed issuers and CA hygiene: leaves from CAs, CA keys, renewal room, what serves TLS."""

from __future__ import annotations

from ..engine import rule
from ..view import StackView, is_known
from ._common import (
    CERT_MANAGER,
    Findings,
    _acme,
    _certificates,
    _consumers,
    _go_duration,
    _issuer,
    _issuer_type,
    _secret_producers,
)


def _duration_hours(text: str | None) -> float | None:
    duration = _go_duration(text)
    return duration.total_seconds() / 3600 if duration is not None else None


INJECT_CA_FROM = "cert-manager.io/inject-ca-from"
# What cainjector injects a CA into (pkg/controller/cainjector/setup.go, v1.21.1 L66-94).
INJECTABLES = (
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CustomResourceDefinition",
)


def _injected(view: StackView) -> set[str]:
    """`<namespace>/<Certificate>` of every certificate cainjector injects into a client's caBundle: that client
    trusts exactly the certificate, self-signed or not (kubebuilder's webhook pattern)."""
    found = set()
    for kind in INJECTABLES:
        for obj in view.of(kind):
            value = (obj.metadata.get("annotations") or {}).get(INJECT_CA_FROM)
            if isinstance(value, str) and is_known(value):
                found.add(value)
    return found


@rule("C1", "error", "no leaf straight from a selfSigned issuer")
def no_leaf_from_self_signed(view: StackView) -> Findings:
    """A selfSigned leaf is its own root: only a client that trusts that very certificate accepts it. cainjector
    makes that true for a webhook's serving certificate (cert-manager.io/inject-ca-from on the webhook
    configuration, the controller-runtime/kubebuilder pattern), so that pattern is not judged (issue 29)."""
    injected = _injected(view)
    for certificate in _certificates(view):
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if f"{certificate.namespace}/{certificate.name}" in injected:
            continue
        if _issuer_type(issuer) == "selfSigned" and not certificate.spec.get("isCA"):
            yield (
                certificate,
                (
                    "a leaf from a selfSigned issuer has no CA its peers share ('certificate signed by unknown authority'): "
                    "issue it from a CA issuer (SelfSignedCAChain)"
                ),
            )


@rule("C3", "warning", "a CA certificate is not served as a leaf", per_object=True)
def ca_is_not_a_leaf(view: StackView) -> Findings:
    for certificate in _certificates(view):
        spec = certificate.spec
        if spec.get("isCA") and ("server auth" in (spec.get("usages") or []) or spec.get("dnsNames")):
            yield (
                certificate,
                "a CA with server names is served as a leaf (rustls: CaUsedAsEndEntity): issue a leaf from it",
            )


@rule("C4", "warning", "a CA certificate says what happens to its key on renewal", per_object=True)
def ca_rotation_policy_is_explicit(view: StackView) -> Findings:
    for certificate in _certificates(view):
        if certificate.spec.get("isCA") and not (certificate.spec.get("privateKey") or {}).get("rotationPolicy"):
            yield (
                certificate,
                "set privateKey.rotationPolicy (Never keeps issued leaves valid; cert-manager >= 1.18 defaults to Always)",
            )


@rule("C8", "error", "what serves TLS serves a certificate made for servers")
def served_certificates_allow_server_auth(view: StackView) -> Findings:
    """A consumer that serves TLS (an Istio or Gateway API gateway, an Ingress, Whizard) with a certificate whose
    usages leave out `server auth` fails every client that checks extended key usage (Go, browsers)."""
    for consumer, namespace, secret in _consumers(view):
        for certificate in _secret_producers(view, namespace, secret or ""):
            usages = certificate.spec.get("usages")
            if usages and "server auth" not in usages:
                yield consumer, f"serves {certificate.describe()}, whose usages {usages} leave out 'server auth'"


@rule("C9", "warning", "what serves TLS serves a leaf, not a CA")
def served_certificates_are_leaves(view: StackView) -> Findings:
    for consumer, namespace, secret in _consumers(view):
        for certificate in _secret_producers(view, namespace, secret or ""):
            if certificate.spec.get("isCA"):
                yield (
                    consumer,
                    f"serves the CA {certificate.describe()} (rustls: CaUsedAsEndEntity): serve a leaf of it",
                )


@rule("C5", "warning", "a certificate lives most of its life before it is renewed", per_object=True)
def renew_before_leaves_a_life(view: StackView) -> Findings:
    """cert-manager renews at notAfter - renewBefore (pkg/util/pki/renewaltime.go v1.21.1 RenewalTime; its own CA
    and selfSigned issuers start notBefore at issuance, certificatetemplate.go L57, no backdating), so the
    webhook's limits (duration 1h, renewBefore 5m) renew every 55 minutes, as meant. A renewBefore over 90 % of
    the duration re-issues after a tenth of the certificate's life, a new CertificateRequest each time (issue 29:
    the rule flagged the exact limits, on a backdating claim that holds for no cert-manager issuer)."""
    for certificate in _certificates(view):
        duration = _duration_hours(certificate.spec.get("duration")) or 2160
        renew = _duration_hours(certificate.spec.get("renewBefore"))
        if renew is not None and renew < duration and renew > 0.9 * duration:
            yield (
                certificate,
                f"renewBefore is {renew / duration:.0%} of the duration: it is re-issued after {duration - renew:.2g}h; "
                "leave it most of its life (cert-manager's default renews at two thirds)",
            )


@rule("C6", "error", "ACME certificates use keys public CAs accept")
def acme_key_types(view: StackView) -> Findings:
    for certificate in _certificates(view):
        if _acme(_issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)) is None:
            continue
        key = certificate.spec.get("privateKey") or {}
        algorithm, size = key.get("algorithm", "RSA"), key.get("size") or 0
        if algorithm == "Ed25519" or (algorithm == "ECDSA" and size == 521) or (algorithm == "RSA" and size > 4096):
            yield certificate, "Let's Encrypt accepts RSA 2048-4096 and ECDSA P-256/P-384 only: change privateKey"


@rule("C7", "error", "a CA that signs leaves keeps its key on renewal")
def signing_cas_keep_their_key(view: StackView) -> Findings:
    """A CA with rotationPolicy Always gets a new key at every renewal: every leaf it signed stops verifying
    against the CA peers trust until it is re-issued (cert-manager >= 1.18 defaults to Always)."""
    crn = view.cluster_resource_namespace()
    for issuer in [*view.of("Issuer", CERT_MANAGER), *view.of("ClusterIssuer", CERT_MANAGER)]:
        secret = (issuer.spec.get("ca") or {}).get("secretName")
        namespace = issuer.namespace if issuer.kind == "Issuer" else crn
        signs = any((_issuer(view, c.spec.get("issuerRef") or {}, c.namespace) is issuer) for c in _certificates(view))
        for ca in _secret_producers(view, namespace, secret or "") if signs else ():
            if ca.spec.get("isCA") and (ca.spec.get("privateKey") or {}).get("rotationPolicy") == "Always":
                yield (
                    ca,
                    f"signs leaves through {issuer.describe()} and rotates its key on renewal: set rotationPolicy: Never",
                )
