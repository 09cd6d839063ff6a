"""B. Issuer references and namespaces."""

from __future__ import annotations

from ..engine import rule
from ..view import Obj, StackView, all_known, is_known
from ._common import (
    CERT_MANAGER,
    SHIM_ANNOTATIONS,
    Findings,
    _certificates,
    _issuer,
    _secret_producers,
    _written_elsewhere,
)


@rule("B1", "error", "a Certificate's issuerRef resolves", per_object=False)
def issuer_refs_resolve(view: StackView) -> Findings:
    for certificate in _certificates(view):
        ref = certificate.spec.get("issuerRef") or {}
        if ref.get("group", CERT_MANAGER) != CERT_MANAGER:
            continue
        if _issuer(view, ref, certificate.namespace) is not None:
            continue
        kind = ref.get("kind") or "Issuer"
        if not all_known([kind, ref.get("name"), certificate.namespace]):
            continue  # it may well resolve
        elsewhere = [o for o in view.of(kind, CERT_MANAGER) if o.name == ref.get("name")]
        cluster_wide = [o for o in view.of("ClusterIssuer", CERT_MANAGER) if o.name == ref.get("name")]
        if not ref.get("kind") and cluster_wide:  # cert-manager defaults kind to Issuer (issue 18)
            yield (
                certificate,
                f"issuerRef has no kind, so cert-manager looks for an Issuer; {ref.get('name')!r} is a ClusterIssuer: "
                "set kind: ClusterIssuer",
            )
        elif kind == "Issuer" and elsewhere:
            yield (
                certificate,
                (
                    f"Issuer {ref.get('name')!r} is in {elsewhere[0].namespace!r}, not {certificate.namespace!r}: use a "
                    "ClusterIssuer or an Issuer in the Certificate's namespace"
                ),
            )


@rule("B1a", "warning", "an issuer not created by this stack must exist")
def issuers_outside_the_stack(view: StackView) -> Findings:
    for certificate in _certificates(view):
        ref = certificate.spec.get("issuerRef") or {}
        kind = ref.get("kind") or "Issuer"
        same_name = [o for o in view.of(kind, CERT_MANAGER) if o.name == ref.get("name")]
        named = isinstance(ref.get("name"), str) and all_known([ref.get("name"), kind])
        if ref.get("group", CERT_MANAGER) == CERT_MANAGER and not same_name and named:
            yield certificate, f"{kind} {ref.get('name')!r} is not created by this stack: make sure it exists"


@rule("B2", "error", "a ClusterIssuer's CA Secret is in cert-manager's cluster-resource namespace")
def cluster_issuer_secrets_in_the_cluster_resource_namespace(view: StackView) -> Findings:
    crn = view.cluster_resource_namespace()
    for issuer in view.of("ClusterIssuer", CERT_MANAGER):
        secret = (issuer.spec.get("ca") or {}).get("secretName")
        elsewhere = _written_elsewhere(view, crn, secret) if secret else []
        if elsewhere:
            yield (
                issuer,
                (
                    f"its CA Secret {secret!r} is written in {elsewhere[0].namespace!r}; a ClusterIssuer reads only {crn!r}: "
                    f"move the CA Certificate to {crn!r}"
                ),
            )


@rule("B3", "error", "a ca issuer's Secret comes from a CA certificate")
def ca_issuers_use_ca_certificates(view: StackView) -> Findings:
    crn = view.cluster_resource_namespace()
    for issuer in [*view.of("Issuer", CERT_MANAGER), *view.of("ClusterIssuer", CERT_MANAGER)]:
        secret = (issuer.spec.get("ca") or {}).get("secretName")
        namespace = issuer.namespace if issuer.kind == "Issuer" else crn
        for certificate in _secret_producers(view, namespace, secret or ""):
            if not certificate.spec.get("isCA"):
                yield issuer, f"{certificate.describe()} is not isCA: issue the CA with isCA: true"


def _secret_refs(value: object) -> list[str]:
    """The names of every `...SecretRef: {name: ...}` under a solver (provider settings, a webhook's free-form
    config alike: imroc's DNSPod webhook reads `secretIdRef`-style refs there too)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and key.lower().endswith(("secretref", "idref", "keyref")):
                name = item.get("name")
                if isinstance(name, str) and is_known(name):
                    found.append(name)
            found += _secret_refs(item)
    elif isinstance(value, list):
        for item in value:
            found += _secret_refs(item)
    return found


def _secrets_written(view: StackView, name: str) -> list[Obj]:
    return [o for o in view.of("Secret", "") if o.name == name and is_known(o.namespace)]


@rule("B2b", "error", "a ClusterIssuer's DNS-01 credentials are in cert-manager's cluster-resource namespace")
def cluster_issuer_dns01_credentials_in_the_cluster_resource_namespace(view: StackView) -> Findings:
    """cert-manager reads the Secrets a ClusterIssuer names in --cluster-resource-namespace alone (its docs,
    configuration/acme/dns01: "ClusterIssuer ... Secret ... in the cluster resource namespace"), the ACME account key
    and DNS provider credentials alike; a Secret the program writes only elsewhere is never found (issue 29)."""
    crn = view.cluster_resource_namespace()
    if not is_known(crn):
        return
    for issuer in view.of("ClusterIssuer", CERT_MANAGER):
        acme = issuer.spec.get("acme") or {}
        for name in dict.fromkeys(_secret_refs([s.get("dns01") for s in acme.get("solvers") or []])):
            written = _secrets_written(view, name)
            if written and all(s.namespace != crn for s in written):
                yield (
                    issuer,
                    f"its DNS-01 credentials Secret {name!r} is written in {written[0].namespace!r}; a ClusterIssuer "
                    f"reads Secrets only in {crn!r}: write it there",
                )


@rule("B4", "error", "a keystore's password Secret is in its Certificate's namespace")
def keystore_passwords_in_the_certificate_namespace(view: StackView) -> Findings:
    """cert-manager reads `keystores.<type>.passwordSecretRef` in the Certificate's own namespace (Certificate API
    reference, PKCS12Keystore/JKSKeystore); one the program writes only elsewhere stops the issuance (issue 29)."""
    for certificate in _certificates(view):
        for kind, store in (certificate.spec.get("keystores") or {}).items():
            ref = (store or {}).get("passwordSecretRef") if isinstance(store, dict) else None
            name = (ref or {}).get("name") if isinstance(ref, dict) else None
            if not isinstance(name, str) or not is_known(name) or not is_known(certificate.namespace):
                continue
            written = _secrets_written(view, name)
            if written and all(s.namespace != certificate.namespace for s in written):
                yield (
                    certificate,
                    f"its {kind} keystore password Secret {name!r} is written in {written[0].namespace!r}; "
                    f"cert-manager reads it in {certificate.namespace!r}: write it there",
                )


def _shim_requests(view: StackView) -> list[tuple[Obj, str, str]]:
    """(Ingress or Gateway, issuer kind, issuer name) for each that asks cert-manager's ingress-shim or
    gateway-shim for certificates through an issuer annotation (cert-manager.io/docs/usage/ingress, /gateway)."""
    found = []
    for asking in [*view.of("Ingress"), *view.of("Gateway", "gateway.networking.k8s.io")]:
        annotations = asking.metadata.get("annotations") or {}
        for key, kind in SHIM_ANNOTATIONS.items():
            name = annotations.get(key)
            if isinstance(name, str) and all_known([name, asking.namespace]):
                found.append((asking, kind, name))
    return found


@rule("B1s", "error", "the issuer an ingress-shim or gateway-shim annotation names resolves")
def shim_issuers_resolve(view: StackView) -> Findings:
    """The Certificates cert-manager makes from annotations are judged as written ones (issue 29): an Issuer is
    looked up in the Ingress's or Gateway's own namespace, a ClusterIssuer only through cluster-issuer."""
    for asking, kind, name in _shim_requests(view):
        if view.find(kind, name, asking.namespace if kind == "Issuer" else None) is not None:
            continue
        if kind == "Issuer" and view.find("ClusterIssuer", name) is not None:
            yield (
                asking,
                f"cert-manager.io/issuer names {name!r}, a ClusterIssuer: cert-manager looks for an Issuer in "
                f"{asking.namespace!r}; use the cert-manager.io/cluster-issuer annotation",
            )
        elif kind == "Issuer" and (elsewhere := [o for o in view.of("Issuer", CERT_MANAGER) if o.name == name]):
            yield (
                asking,
                f"Issuer {name!r} is in {elsewhere[0].namespace!r}, not {asking.namespace!r}: the Certificate "
                "cert-manager makes for it is never issued; use a ClusterIssuer or an Issuer in this namespace",
            )


@rule("B1as", "warning", "an issuer a shim annotation names, not created by this stack, must exist")
def shim_issuers_outside_the_stack(view: StackView) -> Findings:
    for asking, kind, name in _shim_requests(view):
        if not [o for o in view.of(kind, CERT_MANAGER) if o.name == name] and not (
            kind == "Issuer" and view.find("ClusterIssuer", name) is not None
        ):
            yield (
                asking,
                f"{kind} {name!r} (its cert-manager annotation) is not created by this stack: make sure it exists",
            )
