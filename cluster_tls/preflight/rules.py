"""The rules. Ids follow ../shared/notes/field-failures.md "Checks a tool could run" (A-I); GW*, IST0138, NGINX
and LE1 cover the Gateway API, Istio's analyzer, ingress-nginx's retirement and Let's Encrypt's rate limits."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import yaml

from ..components.hosts import CertificateNames, covered
from ..components.model import public_suffixes, version_tuple
from .engine import rule
from .view import REDACTED, Obj, Release, StackView, Unknown, all_known, is_known

CERT_MANAGER = "cert-manager.io"
LE_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
LE_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
REFLECTOR = "reflector.v1.k8s.emberstack.com/"
Findings = Iterator[tuple[Obj | str, str]]


def _issuer(view: StackView, ref: dict, namespace: str | None) -> Obj | None:
    kind = ref.get("kind") or "Issuer"
    return view.find(kind, ref.get("name", ""), namespace if kind == "Issuer" else None)


def _issuer_type(issuer: Obj | None) -> str | None:
    if issuer is None:
        return None
    return next((k for k in ("selfSigned", "ca", "acme", "vault", "venafi") if k in issuer.spec), None)


def _certificates(view: StackView) -> list[Obj]:
    return view.of("Certificate", CERT_MANAGER)


def _duration_hours(text: str | None) -> float | None:
    duration = _go_duration(text)
    return duration.total_seconds() / 3600 if duration is not None else None


def _go_duration(text: object) -> timedelta | None:
    from ..components.durations import parse_go_duration

    try:
        return parse_go_duration(text) if isinstance(text, str) and text and is_known(text) else None
    except ValueError:
        return None


def _groups(objects: Iterable[Obj], key: Callable[[Obj], Hashable]) -> list[tuple[Any, list[Obj]]]:
    """The objects by `key` (None or empty: left out), in a stable order; each group in the objects' order."""
    grouped: dict[Any, list[Obj]] = defaultdict(list)
    for obj in objects:
        value = key(obj)
        if value:
            grouped[value].append(obj)
    return sorted(grouped.items(), key=lambda item: str(item[0]))


def _copies_into(view: StackView, certificate: Obj, namespace: str | None, maybe: bool = False) -> bool:
    """Whether a replicator copies the certificate's Secret into `namespace` (see components/replication.py); with
    `maybe`, also where it may (an annotation that decides it is unknown)."""
    template = certificate.spec.get("secretTemplate") or {}
    annotations = template.get("annotations") or {}
    if maybe and not all_known([certificate.spec, template, annotations, *annotations.values()]):
        return True
    if annotations.get(f"{REFLECTOR}reflection-auto-enabled") == "true":
        auto = _split(annotations.get(f"{REFLECTOR}reflection-auto-namespaces"))
        return not auto or any(re.fullmatch(pattern, namespace or "") for pattern in auto)
    if namespace in _split(annotations.get("replicator.v1.mittwald.de/replicate-to")):
        return True
    selector = annotations.get("kubed.appscode.com/sync")
    if selector is not None:
        key, _, value = selector.partition("=")
        if not key or selector == "true":
            return True
        labelled = [n for n in view.of("Namespace") if n.name == namespace]
        return any((n.metadata.get("labels") or {}).get(key) == value for n in labelled)
    return False


def _maybe(value: Any, expected: Any) -> bool:
    """`value` is `expected`, or unknown and so may be."""
    return not is_known(value) or value == expected


def _any_maybe(items: Any, test: Callable[[Any], bool]) -> bool:
    """Some item of `items` passes `test`, or may (the list or an item is unknown)."""
    return not is_known(items) or any(not is_known(item) or test(item) for item in items)


def _written_elsewhere(view: StackView, namespace: str | None, secret: str) -> list[Obj]:
    """Certificates that write `secret` in a namespace other than `namespace`, when none may write it there: a
    Certificate whose namespace or secretName is unknown (secret, or not known at preview) might be the one."""
    if not is_known(secret) or not is_known(namespace):
        return []
    maybe_here = any(
        (_maybe(c.namespace, namespace) and _maybe(c.spec.get("secretName"), secret))
        or (c.spec.get("secretName") == secret and _copies_into(view, c, namespace, maybe=True))
        for c in _certificates(view)
    )
    if maybe_here:  # written there, copied there, or it may be
        return []
    return [c for c in _certificates(view) if c.spec.get("secretName") == secret and is_known(c.namespace)]


def _secret_producers(view: StackView, namespace: str | None, secret: str) -> list[Obj]:
    """Certificates whose Secret `secret` exists in `namespace`: written there, or copied there by a replicator."""
    return [
        c
        for c in _certificates(view)
        if c.spec.get("secretName") == secret and (c.namespace == namespace or _copies_into(view, c, namespace))
    ]


# --- A. ordering and readiness ---------------------------------------------------------------------------------


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


def _consumers(view: StackView) -> Iterator[tuple[Obj, str | None, str]]:
    """(consumer, namespace, Secret name) for every object that reads a certificate Secret."""
    for gateway in view.of("Gateway", "networking.istio.io"):
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            if name:
                yield gateway, _istio_workload_namespace(view, gateway), name
    for ingress in view.of("Ingress"):
        for tls in ingress.spec.get("tls", []):
            if tls.get("secretName"):
                yield ingress, ingress.namespace, tls["secretName"]
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners", []):
            for ref in (listener.get("tls") or {}).get("certificateRefs", []):
                yield gateway, ref.get("namespace", gateway.namespace), ref.get("name")
    for obj in view.objects:
        if obj.group == "monitoring.whizard.io":
            spec = obj.spec.get("webConfig", obj.spec)
            tls = spec.get("httpServerTLSConfig") or {}
            if (tls.get("certSecret") or {}).get("name"):
                yield obj, obj.namespace, tls["certSecret"]["name"]


@rule("A5", "warning", "consumers of a certificate Secret wait for the Certificate")
def consumers_wait_for_their_certificate(view: StackView) -> Findings:
    for consumer, namespace, secret in _consumers(view):
        for certificate in _secret_producers(view, namespace, secret):
            waits = (certificate.metadata.get("annotations") or {}).get("pulumi.com/waitFor")
            if not waits:
                yield certificate, f"add pulumi.com/waitFor: condition=Ready, {consumer.describe()} reads its Secret"
            elif consumer.urn and certificate.urn and not view.waits_for(consumer.urn, certificate.urn):
                yield consumer, f"depend on {certificate.describe()}, whose Secret it reads"


# --- B. issuer references and namespaces -----------------------------------------------------------------------


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


# --- C. self-signed and CA hygiene -----------------------------------------------------------------------------


@rule("C1", "error", "no leaf straight from a selfSigned issuer")
def no_leaf_from_self_signed(view: StackView) -> Findings:
    for certificate in _certificates(view):
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
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


@rule("C5", "warning", "renewBefore leaves room for backdated certificates", per_object=True)
def renew_before_is_not_too_close(view: StackView) -> Findings:
    for certificate in _certificates(view):
        duration = _duration_hours(certificate.spec.get("duration")) or 2160
        renew = _duration_hours(certificate.spec.get("renewBefore"))
        if renew is not None and renew > duration - 1:
            yield (
                certificate,
                "renewBefore within 1h of the duration renews forever (issuers backdate notBefore): shorten it",
            )


def _acme(issuer: Obj | None) -> dict | None:
    return issuer.spec.get("acme") if issuer is not None and "acme" in issuer.spec else None


@rule("C6", "error", "ACME certificates use keys public CAs accept")
def acme_key_types(view: StackView) -> Findings:
    for certificate in _certificates(view):
        if _acme(_issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)) is None:
            continue
        key = certificate.spec.get("privateKey") or {}
        algorithm, size = key.get("algorithm", "RSA"), key.get("size") or 0
        if algorithm == "Ed25519" or (algorithm == "ECDSA" and size == 521) or (algorithm == "RSA" and size > 4096):
            yield certificate, "Let's Encrypt accepts RSA 2048-4096 and ECDSA P-256/P-384 only: change privateKey"


# --- D. ACME ---------------------------------------------------------------------------------------------------


def _solver_matches(solver: dict, name: str) -> bool:
    selector = solver.get("selector") or {}
    if not selector.get("dnsNames") and not selector.get("dnsZones"):
        return True
    if name in (selector.get("dnsNames") or []):
        return True
    base = name[2:] if name.startswith("*.") else name
    return any(base == zone or base.endswith("." + zone) for zone in selector.get("dnsZones") or [])


@rule("D1", "error", "every ACME name has a solver; wildcards a DNS-01 one")
def acme_names_have_solvers(view: StackView) -> Findings:
    for certificate in _certificates(view):
        acme = _acme(_issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace))
        if acme is None or not is_known(acme):
            continue
        solvers = acme.get("solvers", [])
        if not is_known(solvers) or not all_known(solvers):
            continue  # an unknown solver may solve any name
        for name in [n for n in certificate.spec.get("dnsNames") or [] if is_known(n)]:
            matching = [s for s in solvers if _solver_matches(s, name)]
            if not matching:
                yield certificate, f"no solver of its ACME issuer matches {name!r}: add one"
            elif name.startswith("*.") and not any("dns01" in s for s in matching):
                yield certificate, f"{name!r} is a wildcard and only HTTP-01 solvers match it: add a DNS-01 solver"


@rule("D3", "warning", "Let's Encrypt production only in a production stack")
def production_acme_in_production(view: StackView) -> Findings:
    if view.production is not False:
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        if (_acme(issuer) or {}).get("server") == LE_PRODUCTION:
            yield issuer, "this stack is not production: use the Let's Encrypt staging directory (rate limits)"


@rule("D3b", "error", "a production stack serves certificates browsers trust")
def no_staging_certificates_in_production(view: StackView) -> Findings:
    """Let's Encrypt's staging CA is trusted by no client: a production stack serving its certificates fails every
    TLS handshake (letsencrypt.org/docs/staging-environment)."""
    if not view.production:
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        if (_acme(issuer) or {}).get("server") == LE_STAGING:
            yield (
                issuer,
                "this stack is production and its certificates come from Let's Encrypt staging, which no client trusts",
            )


def _account_key(issuer: Obj, crn: str) -> tuple[str | None, str]:
    secret = ((_acme(issuer) or {}).get("privateKeySecretRef") or {}).get("name") or ""
    return (issuer.namespace if issuer.kind == "Issuer" else crn), secret


@rule("D7", "warning", "each ACME issuer has its own account key Secret")
def acme_account_keys_are_not_shared(view: StackView) -> Findings:
    """Two ACME issuers writing one account-key Secret register, and overwrite, each other's account (a key
    registered at one server, or with one e-mail, is then used for the other)."""
    crn = view.cluster_resource_namespace()
    issuers = [i for i in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)] if _acme(i)]
    for (namespace, secret), sharing in _groups(issuers, lambda issuer: _account_key(issuer, crn)):
        for issuer in sharing[1:] if secret else ():
            yield (
                issuer,
                f"shares its ACME account key Secret {namespace}/{secret} with {sharing[0].describe()}: "
                "give each issuer its own privateKeySecretRef",
            )


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


@rule("D4", "warning", "DNS-01 self-check asks public resolvers")
def dns01_self_check_resolvers(view: StackView) -> Findings:
    release = view.release("cert-manager")
    values = release.values if release is not None and isinstance(release.values, dict) else None
    if values is not None and values.get("dns01RecursiveNameserversOnly"):
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        # a solver with waitInsteadOfSelfCheck has no self-check to point anywhere (cert-manager v1.21)
        solvers = [s for s in (_acme(issuer) or {}).get("solvers", []) if "waitInsteadOfSelfCheck" not in s]
        if not any("dns01" in s for s in solvers):
            continue
        declared = any(
            isinstance(o, dict) and o.get("dns01_recursive_nameservers_only") is True for o in view.outputs.values()
        )
        if release is None and not declared:  # issue 18: a cert-manager the stack does not install, flags unknown
            yield (
                issuer,
                "cert-manager is not installed by this stack, so its DNS-01 self-check resolvers are unknown here: "
                "make sure it runs with dns01RecursiveNameservers(+Only) set to public resolvers, or challenges "
                "behind cluster-local DNS stay pending",
            )
        elif values is not None:
            yield (
                issuer,
                "set cert-manager's dns01RecursiveNameservers(+Only): behind cluster-local DNS challenges stay pending",
            )


def _private_resolvers(values: dict) -> list[str]:
    """dns01RecursiveNameservers that are not public resolvers: cluster DNS, private or loopback addresses."""
    private = []
    for entry in str(values.get("dns01RecursiveNameservers") or "").split(","):
        host = entry.strip().rsplit(":", 1)[0].strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue  # a https:// DoH resolver or a name: nothing to judge
        if not address.is_global:
            private.append(entry.strip())
    return private


@rule("D10", "error", "waitInsteadOfSelfCheck only on a cert-manager that has it")
def wait_instead_of_self_check_needs_1_21(view: StackView) -> Findings:
    """cert-manager v1.21.0 added ACMEChallengeSolver.waitInsteadOfSelfCheck (pkg/apis/acme/v1/types_issuer.go
    v1.21.1 L181-198); an older CRD prunes the field or strict validation refuses it, and the self-check runs."""
    release = view.release("cert-manager")
    version = release.version if release is not None else None
    if not isinstance(version, str) or not is_known(version):
        return
    try:
        older = version_tuple(version) < (1, 21, 0)
    except ValueError:
        return
    if not older:
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        if any("waitInsteadOfSelfCheck" in s for s in (_acme(issuer) or {}).get("solvers", [])):
            yield (
                issuer,
                f"a solver sets waitInsteadOfSelfCheck, which cert-manager {version} lacks (new in v1.21.0): pin "
                "v1.21 or newer, or use dns01RecursiveNameservers(+Only)",
            )


@rule("D4b", "warning", "DNS-01 self-check resolvers are public ones")
def dns01_resolvers_are_public(view: StackView) -> Findings:
    """A private or cluster resolver (10.96.0.10, 192.168.x, 127.0.0.1) often answers from a split-horizon or
    cached zone: the self-check never sees the TXT record the ACME server sees (seed 002)."""
    release = view.release("cert-manager")
    values = release.values if release is not None and isinstance(release.values, dict) else {}
    for resolver in _private_resolvers(values):
        yield (
            f"HelmRelease {release.namespace}/{release.name}",
            (f"dns01RecursiveNameservers {resolver!r} is not a public resolver: use public ones (e.g. 1.1.1.1:53)"),
        )


@rule("D5", "error", "a DNS-01 webhook solver names the installed webhook's group")
def webhook_group_names_match(view: StackView) -> Findings:
    release = view.release("cert-manager-webhook-dnspod")
    if release is None:
        return
    group = (release.values if isinstance(release.values, dict) else {}).get("groupName", "acme.dnspod.com")
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        for solver in (_acme(issuer) or {}).get("solvers", []):
            webhook = (solver.get("dns01") or {}).get("webhook") or {}
            if webhook.get("solverName") == "dnspod" and webhook.get("groupName") != group:
                yield (
                    issuer,
                    f"solver groupName {webhook.get('groupName')!r} is not the webhook's {group!r}: make them equal",
                )


@rule("D6", "error", "an Ingress serves TLS for exactly its rule hosts", per_object=True)
def ingress_tls_hosts_match_rules(view: StackView) -> Findings:
    for ingress in view.of("Ingress"):
        rules = ingress.spec.get("rules", [])
        rule_hosts = {r.get("host") for r in rules if r.get("host")}
        tls = ingress.spec.get("tls") or []
        tls_hosts = {h for t in tls for h in t.get("hosts", [])}
        if (
            tls
            and tls_hosts != rule_hosts
            and all_known([rules, *rules, *rule_hosts, tls, *tls, *(t.get("hosts") for t in tls), *tls_hosts])
        ):
            yield (
                ingress,
                f"tls.hosts {sorted(tls_hosts)} differ from the rule hosts {sorted(rule_hosts)}: make them equal",
            )
        if any(not t.get("secretName") and is_known(t) for t in tls):
            yield ingress, "a tls entry without secretName serves the controller's default certificate: name the Secret"


def _tls_secret_refs(view: StackView) -> Iterator[tuple[Obj, str, str]]:
    """(consumer, namespace it reads in, Secret name) of every Ingress TLS entry and same-namespace Gateway API
    certificateRef: both read Secrets of their own namespace only (networking/v1 IngressTLS; Gateway API
    SecretObjectReference without namespace)."""
    for ingress in view.of("Ingress"):
        for entry in ingress.spec.get("tls") or []:
            if entry.get("secretName"):
                yield ingress, ingress.namespace or "default", entry["secretName"]
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners") or []:
            for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                if ref.get("name") and ref.get("namespace") in (None, gateway.namespace):
                    yield gateway, gateway.namespace or "default", ref["name"]


@rule("D9", "error", "a TLS Secret is read in the namespace where it is written")
def tls_secret_in_the_consumers_namespace(view: StackView) -> Findings:
    for consumer, namespace, secret in _tls_secret_refs(view):
        elsewhere = sorted({c.namespace or "" for c in _written_elsewhere(view, namespace, secret)})
        if elsewhere:
            yield (
                consumer,
                f"Secret {secret!r} is written only in {', '.join(elsewhere)}, and {consumer.kind} reads Secrets of "
                f"{namespace!r}: issue the Certificate in {namespace!r} or replicate the Secret there",
            )


@rule("NGINX", "warning", "ingress-nginx is retired")
def ingress_nginx_is_retired(view: StackView) -> Findings:
    for ingress in view.of("Ingress"):
        if ingress.spec.get("ingressClassName") == "nginx":
            yield (
                ingress,
                (
                    "ingress-nginx was retired (archived March 2026): make sure a controller serves class nginx, or move "
                    "the route to the Gateway API"
                ),
            )


def _registered_domain(name: str) -> str:
    """What Let's Encrypt counts certificates by: the name one label below its public suffix (example.co.uk)."""
    host = name.removeprefix("*.")
    return public_suffixes().privatesuffix(host) or host


def _lets_encrypt_certificates(view: StackView, servers: tuple[str, ...] = (LE_PRODUCTION,)) -> Iterator[Obj]:
    for certificate in _certificates(view):
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if (_acme(issuer) or {}).get("server") in servers:
            yield certificate


def _refused_by_lets_encrypt(name: str) -> str | None:
    """Why Let's Encrypt's policy refuses a DNS name (letsencrypt.org/docs/... and Boulder's policy/pa.go: a
    public suffix below which the name sits, labels of letters, digits and hyphens), or None."""
    host = name.removeprefix("*.")
    if host != host.lower():
        return "has capitals: certificates carry names in lowercase"
    if "_" in host or not all(re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", label) for label in host.split(".")):
        return "is not a hostname of letters, digits and hyphens"
    suffix = public_suffixes().publicsuffix(host)
    if suffix is None:
        return "does not end in a public top-level domain (an internal name): use a private CA"
    if suffix == host:
        return "is a public suffix itself"
    return None


@rule("D8", "error", "Let's Encrypt accepts every name")
def names_lets_encrypt_accepts(view: StackView) -> Findings:
    for certificate in _lets_encrypt_certificates(view, (LE_PRODUCTION, LE_STAGING)):
        for name in [n for n in certificate.spec.get("dnsNames") or [] if is_known(n)]:
            reason = _refused_by_lets_encrypt(str(name))
            if reason:
                yield certificate, f"Let's Encrypt refuses {name!r}: it {reason}"


@rule("LE2", "error", "at most 5 certificates for one set of names a week")
def duplicate_certificates(view: StackView) -> Findings:
    """Let's Encrypt issues at most 5 certificates for the same exact set of names per 7 days
    (letsencrypt.org/docs/rate-limits, "New Certificates per Exact Set of Hostnames"): a Certificate per namespace
    for one wildcard (instead of one copied by a replicator) fails at the sixth at the first `pulumi up`."""

    def names(certificate: Obj) -> tuple[str, ...]:
        return tuple(sorted({str(n).lower() for n in certificate.spec.get("dnsNames") or []}))

    for same, certificates in _groups(_lets_encrypt_certificates(view), names):
        for certificate in certificates[5:]:
            yield (
                certificate,
                f"the {len(certificates)} Certificates for {', '.join(same)} exceed Let's Encrypt's 5 a week for one set "
                "of names: issue one and replicate its Secret",
            )


@rule("LE1", "warning", "Let's Encrypt certificates per registered domain per week")
def lets_encrypt_budget(view: StackView) -> Findings:
    """LE allows 50 new certificates per registered domain per week; a 90-day certificate renews at 2/3 (60 days)."""
    per_domain: dict[str, int] = defaultdict(int)
    for certificate in _lets_encrypt_certificates(view):
        for domain in {_registered_domain(n) for n in certificate.spec.get("dnsNames") or []}:
            per_domain[domain] += 1
    for domain, count in sorted(per_domain.items()):
        renewals = count * 7 / 60
        if count >= 40:
            yield (
                f"domain {domain}",
                (
                    f"{count} production certificates at the first `pulumi up` (then ~{renewals:.1f} renewal orders a week), "
                    "near Let's Encrypt's 50 per registered domain per week: share a wildcard or stagger them"
                ),
            )


# --- E. Hubble ------------------------------------------------------------------------------------------------


# The Secrets Hubble's peers mount (Cilium chart templates/hubble/tls-certmanager/*.yaml, read in 1.17.6; the same
# names as HubbleTLS.chart_certificates, checked against the 1.17-1.20 charts): a leaf
# written into one of them is Hubble's, whatever the Certificate is called. A CA certificate is not: a chain's root
# is rightly selfSigned.
HUBBLE_SECRETS = frozenset(
    {
        "hubble-server-certs",
        "hubble-relay-client-certs",
        "hubble-relay-server-certs",
        "hubble-ui-client-certs",
        "hubble-metrics-server-certs",
    }
)


@rule("E1", "error", "Hubble's certificates come from a CA issuer")
def hubble_issuer_is_a_ca(view: StackView) -> Findings:
    hubble = [c for c in _certificates(view) if not c.spec.get("isCA") and c.spec.get("secretName") in HUBBLE_SECRETS]
    for certificate in hubble:
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if _issuer_type(issuer) in ("selfSigned", "acme"):
            yield certificate, f"issuer {issuer.name!r} is {_issuer_type(issuer)}: Hubble's peers need one private CA"
    if hubble:
        return
    # A Cilium release written by hand: the chart makes the certificates from these values
    # (install/kubernetes/cilium/templates/hubble/tls-certmanager/*.yaml), so judge the issuer the values name.
    for release in view.releases:
        values = release.values if isinstance(release.values, dict) else {}
        auto = ((values.get("hubble") or {}).get("tls") or {}).get("auto") or {}
        if release.chart.rsplit("/", 1)[-1] != "cilium" or auto.get("method") != "certmanager":
            continue
        issuer = _issuer(view, auto.get("certManagerIssuerRef") or {}, release.namespace)
        if _issuer_type(issuer) in ("selfSigned", "acme"):
            yield (
                f"release {release.namespace}/{release.name}",
                f"hubble.tls.auto.certManagerIssuerRef {issuer.name!r} is {_issuer_type(issuer)}: every Hubble "
                "certificate would get its own root (relay: 'x509: certificate signed by unknown authority'); "
                "name a CA issuer",
            )


# --- F. Istio --------------------------------------------------------------------------------------------------


def _gateway_releases(view: StackView) -> list[Release]:
    return [r for r in view.releases if r.chart.rsplit("/", 1)[-1] == "gateway"]


def _gateway_pod_labels(release: Release) -> dict[str, str]:
    """The labels of an istio/gateway chart release's pods (manifests/charts/gateway/templates/_helpers.tpl
    gateway.name and gateway.selectorLabels, deployment.yaml L34-46; istio.io/istio, 2026-08): the name is
    `values.name` or the release name; `app` is it, `istio` is it without a leading "istio-", unless
    `values.labels` sets them; the other `values.labels` are copied, over the chart's default
    `istio.io/dataplane-mode: none` (values.yaml L117-120, merged in templates/zzz_profile.yaml)."""
    values = release.values if isinstance(release.values, dict) else {}
    name = values.get("name") or release.name
    labels = values.get("labels") if isinstance(values.get("labels"), dict) else {}
    return {
        "istio.io/dataplane-mode": "none",
        **{str(k): str(v) for k, v in labels.items()},
        "app": str(labels.get("app") or name),
        "istio": str(labels.get("istio") or name.removeprefix("istio-")),
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": release.name,
        "app.kubernetes.io/part-of": "istio",
        "sidecar.istio.io/inject": "true",
    }


def _istio_workload_namespace(view: StackView, gateway: Obj) -> str | None:
    """Where the workload the Gateway selects runs: the namespace that must hold its credentialName Secrets.

    The Gateway object may live elsewhere (IstioHTTPSGateway's gatewayNamespace, issue 18). In order: the
    IstioHTTPSGateway that made it (its Secret is where its workload is); an Istio `gateway` chart release of this
    stack whose pods carry the selector (`istio: <release name without "istio-">`, the chart's
    templates/_helpers.tpl gateway.selectorLabels); Istio's default ingress gateway (`istio: ingressgateway`, in
    istio-system); else the Gateway's own namespace."""
    for outputs in view.outputs.values():
        made = (outputs or {}).get("gateway") if isinstance(outputs, dict) else None
        if made == {"namespace": gateway.namespace, "name": gateway.name} and isinstance(outputs.get("secret"), dict):
            return outputs["secret"].get("namespace")
    selector = gateway.spec.get("selector") or {}
    if not all_known([selector, *selector.values()]):
        return Unknown()  # the workload it selects is not known: nor is where it reads its Secrets
    for release in _gateway_releases(view):
        if selector and selector.items() <= _gateway_pod_labels(release).items():
            return release.namespace
    if selector == {"istio": "ingressgateway"}:
        return "istio-system"
    return gateway.namespace


@rule("F1", "error", "an Istio credentialName Secret lives where the gateway workload reads it")
def istio_secret_in_the_workload_namespace(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "networking.istio.io"):
        namespace = _istio_workload_namespace(view, gateway)
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            elsewhere = _written_elsewhere(view, namespace, name) if name else []
            if elsewhere:
                yield (
                    gateway,
                    (
                        f"credentialName {name!r} is written in {elsewhere[0].namespace!r}; the gateway reads {namespace!r} "
                        "(IST0161): issue the Certificate there"
                    ),
                )


def _names_the_release(selector: dict, release: Release) -> bool:
    """The selector takes the release's name for its `istio` label, which the chart sets otherwise."""
    labels = _gateway_pod_labels(release)
    return selector.get("istio") == release.name != labels["istio"] and not selector.items() <= labels.items()


@rule("F8", "warning", "an Istio Gateway selects the pods of a gateway release this stack installs")
def istio_selector_matches_an_installed_release(view: StackView) -> Findings:
    """A Gateway whose selector matches no workload configures nothing, without an error (istio.io
    gateway-selectors docs). With gateway releases in the stack, one it matches none of may select a workload
    installed elsewhere: a warning; one that names a release by its release name where the chart's label is
    the name without "istio-" certainly matches nothing of it: an error (F8a)."""
    releases = _gateway_releases(view)
    labelled = [(r, _gateway_pod_labels(r)) for r in releases]
    carried = "; ".join(f"{r.namespace}/{r.name}: istio={pods['istio']}, app={pods['app']}" for r, pods in labelled)
    for gateway in view.of("Gateway", "networking.istio.io") if releases else ():
        selector = gateway.spec.get("selector") or {}
        if not selector or not all_known([selector, *selector.values()]):
            continue
        if any(selector.items() <= pods.items() for _, pods in labelled):
            continue
        if not any(_names_the_release(selector, r) for r in releases):  # F8a's
            yield (
                gateway,
                f"selector {selector} matches no pods of the gateway releases this stack installs ({carried}): "
                "unless another workload carries these labels, the Gateway serves nothing",
            )


@rule("F8a", "error", "an Istio Gateway does not select a gateway release by its release name")
def istio_selector_names_the_release(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "networking.istio.io"):
        selector = gateway.spec.get("selector") or {}
        for release in _gateway_releases(view):
            if _names_the_release(selector, release):
                label = _gateway_pod_labels(release)["istio"]
                yield (
                    gateway,
                    f"selector istio: {release.name!r} is the release's name; the istio/gateway chart labels its pods "
                    f"istio: {label!r} (the name without 'istio-'): select istio: {label}",
                )


@rule("F7", "error", "an Istio MUTUAL server has a client CA")
def mutual_servers_have_a_client_ca(view: StackView) -> Findings:
    """Istio's MUTUAL mode reads the client CA from `ca.crt` of the credential Secret or from a Secret
    `<credentialName>-cacert` (istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress); an ACME
    issuer writes no `ca.crt`, so without the `-cacert` Secret every client is refused."""
    for gateway in view.of("Gateway", "networking.istio.io"):
        namespace = _istio_workload_namespace(view, gateway)
        for server in gateway.spec.get("servers", []):
            tls = server.get("tls") or {}
            name = tls.get("credentialName")
            if tls.get("mode") != "MUTUAL" or not name:
                continue
            producers = _secret_producers(view, namespace, name)
            from_acme = producers and all(
                _issuer_type(_issuer(view, c.spec.get("issuerRef") or {}, c.namespace)) == "acme" for c in producers
            )
            cacert = _secret_producers(view, namespace, f"{name}-cacert") or view.find(
                "Secret", f"{name}-cacert", namespace
            )
            if from_acme and not cacert:
                yield (
                    gateway,
                    f"MUTUAL with {name!r} from an ACME issuer (no ca.crt) and no Secret {name}-cacert: add the client CA",
                )


def _server_certificate(view: StackView, namespace: str | None, secret: str) -> list[str] | None:
    producers = _secret_producers(view, namespace, secret)
    return producers[0].spec.get("dnsNames") if producers else None


@rule("F2", "error", "the certificate covers every gateway host")
def istio_hosts_covered(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "networking.istio.io"):
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            names = _server_certificate(view, _istio_workload_namespace(view, gateway), name) if name else None
            coverage = CertificateNames(names or [])
            judged = names is not None and all_known([names, *names])  # an unknown name may cover any host
            for host in [h for h in server.get("hosts", []) if is_known(h)] if judged else []:
                bare = host.split("/", 1)[-1]
                if not covered(coverage, bare):
                    yield (
                        gateway,
                        f"host {bare!r} is not covered by {name!r} ({', '.join(names)}): add it to the certificate",
                    )


@rule("F4", "warning", "no mounted certificate files", per_object=True)
def istio_legacy_files(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "networking.istio.io"):
        if any((s.get("tls") or {}).get("serverCertificate") for s in gateway.spec.get("servers", [])):
            yield gateway, "serverCertificate/privateKey paths are the pre-SDS way: use credentialName"


@rule("F6", "error", "a VirtualService's hosts are served by its gateways")
def virtual_service_hosts_meet_the_gateway(view: StackView) -> Findings:
    for service in view.of("VirtualService"):
        for reference in service.spec.get("gateways", []):
            namespace, _, name = reference.rpartition("/")
            gateway = view.find("Gateway", name, namespace or service.namespace)
            if gateway is None or gateway.group != "networking.istio.io":
                continue
            served = [h for s in gateway.spec.get("servers", []) for h in s.get("hosts", [])]
            wanted = service.spec.get("hosts", [])
            if not all_known(served) or not all_known(wanted):
                continue  # a secret host may be any host (issue 31: a secure host gave a false F6 error)
            hosts = CertificateNames(h.split("/", 1)[-1] for h in served)
            if not any(covered(hosts, h) for h in wanted):
                yield service, f"none of its hosts is served by Gateway {reference!r} (404 NR): match their hosts"


@rule("IST0138", "warning", "two gateways on one workload do not share a certificate for different hosts")
def shared_certificate(view: StackView) -> Findings:
    seen: dict[tuple, tuple[Obj, set[str]]] = {}
    for gateway in view.of("Gateway", "networking.istio.io"):
        selector = tuple(sorted((gateway.spec.get("selector") or {}).items()))
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            if not name:
                continue
            hosts = set(server.get("hosts", []))
            first = seen.setdefault((selector, name), (gateway, hosts))
            if first[0] is not gateway and first[1] != hosts:
                yield (
                    gateway,
                    (
                        f"shares {name!r} with {first[0].describe()} for other hosts: HTTP/2 connection reuse answers 404 NR; "
                        "one certificate per gateway"
                    ),
                )


@rule("IST0145", "error", "one certificate per host and port on one gateway workload")
def one_certificate_per_host(view: StackView) -> Findings:
    """Two Gateways on one workload serving one host on one port with different certificates: Istio keeps one of
    the conflicting servers (istioctl analyze IST0145 ConflictingGateways), so the other certificate is never
    served."""
    seen: dict[tuple, tuple[Obj, str]] = {}
    for gateway in view.of("Gateway", "networking.istio.io"):
        selector = tuple(sorted((gateway.spec.get("selector") or {}).items()))
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            port = (server.get("port") or {}).get("number")
            for host in server.get("hosts", []) if name else ():
                first = seen.setdefault((selector, port, str(host).split("/")[-1]), (gateway, name))
                if first[0] is not gateway and first[1] != name:
                    yield (
                        gateway,
                        f"serves {host!r} on port {port} with {name!r}, as {first[0].describe()} does with {first[1]!r}: "
                        "Istio keeps one of them (IST0145); serve the host from one Gateway",
                    )


# --- Gateway API ----------------------------------------------------------------------------------------------


def _grant_allows(grant: Obj, target: str, namespace: str | None) -> bool:
    """Whether a ReferenceGrant lets Gateways of `namespace` read Secrets of `target`, or may (unknown parts)."""
    if not _maybe(grant.namespace, target):
        return False
    if not is_known(grant.spec):
        return True
    takes_gateways = _any_maybe(
        grant.spec.get("from", []), lambda f: _maybe(f.get("kind"), "Gateway") and _maybe(f.get("namespace"), namespace)
    )
    return takes_gateways and _any_maybe(grant.spec.get("to", []), lambda t: _maybe(t.get("kind"), "Secret"))


@rule("GW1", "error", "cross-namespace certificateRefs have a ReferenceGrant")
def gateway_cross_namespace_refs(view: StackView) -> Findings:
    grants = view.of("ReferenceGrant")
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners", []):
            for ref in (listener.get("tls") or {}).get("certificateRefs", []):
                target = ref.get("namespace")
                if not target or target == gateway.namespace or not all_known([target, gateway.namespace]):
                    continue
                allowed = any(_grant_allows(g, target, gateway.namespace) for g in grants)
                if not allowed:
                    yield (
                        gateway,
                        (
                            f"listener {listener.get('name')!r} reads Secret {target}/{ref.get('name')} without a ReferenceGrant "
                            f"in {target!r} (and cert-manager issues nothing for it, cert-manager#5610): add one or move the Secret"
                        ),
                    )


@rule("GW2", "error", "the certificate covers every listener hostname")
def gateway_hostnames_covered(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners", []):
            for ref in (listener.get("tls") or {}).get("certificateRefs", []):
                names = _server_certificate(view, ref.get("namespace", gateway.namespace), ref.get("name"))
                host = listener.get("hostname")
                judged = names is not None and all_known([names, *names, host])
                if host and judged and not covered(names, host):
                    yield (
                        gateway,
                        f"listener hostname {host!r} is not covered by {ref.get('name')!r}: add it to the certificate",
                    )


@rule("GW3", "error", "cert-manager Gateway annotations need Gateway support")
def gateway_annotations_need_support(view: StackView) -> Findings:
    release = view.release("cert-manager")
    if release is None:
        return
    values = release.values if isinstance(release.values, dict) else {}
    enabled = ((values.get("config") or {}).get("gatewayAPI") or {}).get("enabled")
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        annotations = gateway.metadata.get("annotations") or {}
        if not enabled and any(k in annotations for k in ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")):
            yield (
                gateway,
                "cert-manager issues for annotated Gateways only with config.gatewayAPI.enabled: switch it on",
            )


# --- H. replication ------------------------------------------------------------------------------------------


def _split(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


@rule("H1", "error", "reflector annotations allow what they reflect", per_object=True)
def reflector_annotations(view: StackView) -> Findings:
    for certificate in _certificates(view):
        annotations = ((certificate.spec.get("secretTemplate") or {}).get("annotations")) or {}
        if f"{REFLECTOR}reflection-auto-enabled" not in annotations:
            continue
        if not _maybe(annotations.get(f"{REFLECTOR}reflection-allowed"), "true"):
            yield certificate, 'reflection-auto-enabled needs reflection-allowed: "true"'
        allowed_text = annotations.get(f"{REFLECTOR}reflection-allowed-namespaces")
        allowed = _split(allowed_text) if is_known(allowed_text) else set()  # unknown: it may allow them all
        auto_text = annotations.get(f"{REFLECTOR}reflection-auto-namespaces")
        auto = _split(auto_text) if is_known(auto_text) else set()
        missing = sorted(n for n in auto if allowed and not any(re.fullmatch(a, n) for a in allowed))
        if missing:
            yield certificate, f"reflection-allowed-namespaces misses {missing} ('does not permit it'): add them"


@rule("H2", "warning", "a CA's key is not copied around", per_object=True)
def ca_not_replicated(view: StackView) -> Findings:
    for certificate in _certificates(view):
        annotations = ((certificate.spec.get("secretTemplate") or {}).get("annotations")) or {}
        copied = any(
            k.startswith((REFLECTOR, "replicator.v1.mittwald.de/", "kubed.appscode.com/")) for k in annotations
        )
        if certificate.spec.get("isCA") and copied:
            yield certificate, "copying a CA Secret copies its key: distribute ca.crt with trust-manager instead"


# --- I. secrets in state -------------------------------------------------------------------------------------

_PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# A key names a credential when its last word does (API_TOKEN, dbPassword, secretKey, clientSecret, kubeconfig);
# key material is found by its PEM header instead (a `privateKey` is a file path in Istio, settings in cert-manager);
# references to secrets (secretName, credentialName, tokenSecretRef) end in another word.
_CREDENTIAL_KEY = re.compile(
    r"(password|passwd|passphrase|token|apikey|accesskey|secretkey|secretid|clientsecret|kubeconfig)$"
)


def _is_credential_key(key: object) -> bool:
    return bool(_CREDENTIAL_KEY.search(re.sub(r"[^a-z0-9]", "", str(key).lower())))


def _filled(item: object) -> bool:
    return isinstance(item, str) and bool(item) and item != REDACTED


def _plain_secrets(value, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        # An environment variable ({name: API_TOKEN, value: ...}) names its credential in `name`.
        if _is_credential_key(value.get("name", "")) and _filled(value.get("value")):
            yield f"{path}.value" if path else "value"
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _filled(item) and _is_credential_key(key):
                yield here
            yield from _plain_secrets(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _plain_secrets(item, f"{path}[{i}]")
    elif isinstance(value, str) and _PEM_KEY.search(value):
        yield path


@rule("I1", "error", "no key material or credentials in plain resource inputs")
def no_plain_secrets(view: StackView) -> Findings:
    for resource, inputs in sorted(view.plain_inputs.items()):
        for path in _plain_secrets(inputs):
            yield (
                f"resource {resource}",
                f"{path} holds a credential in plain text: pass it as a Pulumi secret or a Secret reference",
            )


# --- verification ---------------------------------------------------------------------------------------------


_NOT_YAML = object()


def _text_document(text: str) -> Any:
    """A document held as text (kubesphere.yaml in a ConfigMap), in any YAML syntax, flow and JSON included, read
    within the stack reader's bounds; _NOT_YAML when it is not one."""
    from ..stackfile import StackFileError, load_bounded

    if not is_known(text):
        return _NOT_YAML
    try:
        return load_bounded(text, strict_keys=False)
    except (StackFileError, yaml.YAMLError):
        return _NOT_YAML


def _skips_verification(value) -> bool:
    if isinstance(value, dict):
        return value.get("insecureSkipVerify") is True or any(_skips_verification(v) for v in value.values())
    if isinstance(value, list):
        return any(_skips_verification(v) for v in value)
    if not isinstance(value, str) or "insecureSkipVerify" not in value:
        return False
    document = _text_document(value)
    if document is _NOT_YAML:
        return bool(re.search(r"""["']?insecureSkipVerify["']?\s*:\s*["']?true""", value))
    return isinstance(document, (dict, list)) and _skips_verification(document)


@rule("V1", "warning", "TLS clients verify the server")
def tls_verification_on(view: StackView) -> Findings:
    for component, outputs in sorted(view.outputs.items()):
        if isinstance(outputs, dict) and outputs.get("insecure") is True:
            yield (
                f"component {component}",
                "its clients skip certificate verification (insecureSkipVerify): verify against the CA",
            )
    for resource, inputs in sorted(view.plain_inputs.items()):
        if _skips_verification(inputs):
            yield f"resource {resource}", "sets insecureSkipVerify: true: verify against the CA instead"


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


@rule("V2", "warning", "an https endpoint in kubesphere.yaml names the CA it trusts")
def kubesphere_https_has_a_ca(view: StackView) -> Findings:
    from ..components.kubesphere_config import TARGETS  # kubesphere.yaml's clients of Whizard

    for config in view.of("ConfigMap"):
        text = (config.body.get("data") or {}).get("kubesphere.yaml")
        document = _text_document(text) if isinstance(text, str) and text != REDACTED else _NOT_YAML
        for endpoint_path, tls_path in TARGETS if document is not _NOT_YAML else ():
            endpoint, tls = _at(document, endpoint_path), _at(document, tls_path) or {}
            if isinstance(endpoint, str) and endpoint.startswith("https://") and isinstance(tls, dict):
                if not tls.get("caFile") and tls.get("insecureSkipVerify") is not True:
                    yield (
                        config,
                        f"{'.'.join(endpoint_path)} is https with no tlsConfig.caFile: KubeSphere verifies it against "
                        "the system roots, which a private CA's certificate fails ('certificate signed by unknown "
                        "authority'); set caFile to the CA it is issued from",
                    )


# --- G. Whizard -----------------------------------------------------------------------------------------------

WHIZARD = "monitoring.whizard.io"


def _whizard_versions(view: StackView) -> set[str]:
    return {o["whizard_version"] for o in view.outputs.values() if isinstance(o, dict) and o.get("whizard_version")}


@rule("G1", "error", "Whizard TLS sits where the installed version reads it")
def whizard_tls_path(view: StackView) -> Findings:
    from ..components.model import version_tuple

    versions = _whizard_versions(view)
    if len(versions) != 1:
        return
    new_layout = version_tuple(next(iter(versions))) >= (0, 10, 0)
    for obj in view.objects:
        if obj.group != WHIZARD or obj.kind not in ("Query", "QueryFrontend", "Router"):
            continue
        at_top = "httpServerTLSConfig" in obj.spec
        under_web = "httpServerTLSConfig" in (obj.spec.get("webConfig") or {})
        if new_layout and at_top:
            yield (
                obj,
                "Whizard >= v0.10 reads spec.webConfig.httpServerTLSConfig; spec.httpServerTLSConfig is pruned and TLS stays off: move it",
            )
        if not new_layout and under_web:
            yield (
                obj,
                "Whizard < v0.10 reads spec.httpServerTLSConfig; spec.webConfig is pruned and TLS stays off: move it",
            )


def _whizard_tls_layouts(view: StackView) -> list[tuple[Obj, str]]:
    """(object, where its TLS block sits) for each Query, QueryFrontend and Router that carries one."""
    found = []
    for obj in view.objects:
        if obj.group != WHIZARD or obj.kind not in ("Query", "QueryFrontend", "Router"):
            continue
        if "httpServerTLSConfig" in (obj.spec.get("webConfig") or {}):
            found.append((obj, "spec.webConfig.httpServerTLSConfig"))
        elif "httpServerTLSConfig" in obj.spec:
            found.append((obj, "spec.httpServerTLSConfig"))
    return found


@rule("G2", "error", "Whizard's resources carry TLS at one layout")
def whizard_layouts_agree(view: StackView) -> Findings:
    """One Whizard (per namespace) reads one layout for Query, QueryFrontend and Router (spec.httpServerTLSConfig before v0.10,
    spec.webConfig.httpServerTLSConfig from v0.10.0, components/whizard.py): with both in one stack, one of them is
    pruned by the API server and that resource serves plain HTTP, whichever version is installed."""
    firsts: dict[Any, tuple[Obj, str]] = {}
    for obj, where in _whizard_tls_layouts(view):
        first = firsts.setdefault(obj.namespace, (obj, where))  # one Whizard per namespace
        if where != first[1]:
            yield (
                obj,
                f"TLS at {where}, while {first[0].describe()} has it at {first[1]}: the installed Whizard reads one "
                "of them and prunes the other silently; use one layout (WhizardTLS picks it from whizardVersion)",
            )


@rule("G3", "warning", "a hand-written Whizard TLS path is checked against a version")
def whizard_layout_taken_on_trust(view: StackView) -> Findings:
    """Without a WhizardTLS in the stack nothing says which Whizard is installed, and a path it does not read is
    pruned without an error (issue 19): a warning, since the path may well be right."""
    if _whizard_versions(view):
        return
    for obj, where in _whizard_tls_layouts(view):
        yield (
            obj,
            f"TLS at {where} is taken on trust: Whizard < v0.10 reads spec.httpServerTLSConfig, >= v0.10 "
            "spec.webConfig.httpServerTLSConfig, and prunes the other silently; check the installed CRD, or use "
            "WhizardTLS, which reads it before patching",
        )


def _whizard_client_ca(view: StackView, under_web_config: bool) -> Findings:
    for obj in view.objects:
        if obj.group != WHIZARD:
            continue
        tls = (obj.spec.get("webConfig") or {} if under_web_config else obj.spec).get("httpServerTLSConfig") or {}
        if tls.get("clientCASecret"):
            yield obj, CLIENT_CA_EFFECT[under_web_config]


# components/whizard.py CLIENT_CA: where Whizard reads clientCASecret (webConfig) it writes no client_auth_type and
# exporter-toolkit refuses to serve; where it does not (spec.httpServerTLSConfig before v0.10), clients go unchecked.
CLIENT_CA_EFFECT = {
    True: "clientCASecret under webConfig: Whizard writes it without a client_auth_type and the server refuses to "
    'start ("Client CA\'s have been configured without a Client Auth Policy"): remove it',
    False: "clientCASecret under spec.httpServerTLSConfig is not read (before v0.10 only the key pair reaches the "
    "Envoy sidecar): clients are not verified; remove it",
}


@rule("G5", "error", "no clientCASecret where Whizard reads it: the server would not start")
def whizard_client_ca_read(view: StackView) -> Findings:
    yield from _whizard_client_ca(view, under_web_config=True)


@rule("G6", "warning", "no clientCASecret where Whizard ignores it: clients would not be verified")
def whizard_client_ca_ignored(view: StackView) -> Findings:
    yield from _whizard_client_ca(view, under_web_config=False)


@rule("G4", "error", "Whizard TLS Secrets are in the resource's namespace with the named keys")
def whizard_tls_secrets(view: StackView) -> Findings:
    expected = {"certSecret": "tls.crt", "keySecret": "tls.key", "clientCASecret": "ca.crt"}
    for obj in view.objects:
        if obj.group != WHIZARD:
            continue
        tls = (obj.spec.get("webConfig") or {}).get("httpServerTLSConfig") or obj.spec.get("httpServerTLSConfig") or {}
        for field, key in expected.items():
            ref = tls.get(field)
            if not ref or not is_known(ref):
                continue
            if is_known(ref.get("key")) and ref.get("key") != key:
                yield obj, f"{field} reads key {ref.get('key')!r} of a cert-manager Secret, which holds {key!r}"
            if ref.get("name") and _written_elsewhere(view, obj.namespace, ref["name"]):
                yield (
                    obj,
                    f"{field} Secret {ref.get('name')!r} is written in another namespace: a SecretKeySelector reads {obj.namespace!r}",
                )
