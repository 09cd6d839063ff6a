"""Typed specs for cert-manager `cert-manager.io/v1` objects, checked against cert-manager's own rules.

The CRD schema does not express the webhook's checks (renewBefore < duration, key sizes per algorithm,
exactly one issuer type), so they are enforced here, before anything is registered. They follow cert-manager
v1.21.1 `internal/apis/certmanager/validation/certificate.go` (cited by line below).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from ..durations import parse_go_duration
from ..model import Annotations, DnsLabel, DnsName, GoDuration, IPAddress, K8sName, Labels, Spec, StrictInt, repeated

GROUP = "cert-manager.io"
API_VERSION = f"{GROUP}/v1"
DEFAULT_DURATION = timedelta(days=90)  # cert-manager's default when `duration` is unset
# Why ECDSA P-256 is the default key (docs/benchmarks/README.md, benchmarks/tls_cost.py).
DEFAULT_KEY_NOTE = (
    "ECDSA P-256 by default: the cheapest widely accepted key in docs/benchmarks (0.67 ms server CPU per full "
    "TLS 1.3 handshake; RSA 4096 3.84 ms; Ed25519 is cheaper but Let's Encrypt does not issue it and browsers "
    "do not accept it)."
)


IssuerKind = Literal["Issuer", "ClusterIssuer"]
IssuerType = Literal["selfSigned", "ca", "acme", "vault", "venafi", "external"]
KeyUsage = Literal[
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
]  # cert-manager.io/v1 KeyUsage enum


def check_lifetime(duration: str | None, renew_before: str | None, renew_before_percentage: int | None = None) -> None:
    """cert-manager's webhook rules for `duration`, `renewBefore` and `renewBeforePercentage`.

    certificate.go ValidateDuration (v1.21.1 L358-402): duration >= 1h; at most one of renewBefore and
    renewBeforePercentage; renewBefore >= 5m and < duration; a percentage p gives duration * (100 - p) / 100,
    which must also be >= 5m and < duration (cert-manager#4122, #1122).
    """
    lifetime = parse_go_duration(duration) if duration else DEFAULT_DURATION
    if lifetime < timedelta(hours=1):
        raise ValueError(f"duration must be at least 1h (cert-manager's minimum), got {duration!r}")
    if renew_before is not None and renew_before_percentage is not None:
        raise ValueError("set renewBefore or renewBeforePercentage, not both (cert-manager refuses the pair)")
    if renew_before_percentage is not None:
        renewal = lifetime * (100 - renew_before_percentage) / 100
        if renewal < timedelta(minutes=5):
            raise ValueError(
                f"renewBeforePercentage {renew_before_percentage} of duration {duration or '2160h default'} "
                "comes to less than 5m, cert-manager's minimum"
            )
        if renewal >= lifetime:
            raise ValueError(
                f"renewBeforePercentage {renew_before_percentage} must come to less than the duration "
                f"({duration or '2160h default'})"
            )
        return
    if renew_before is None:
        return
    renewal = parse_go_duration(renew_before)
    if renewal < timedelta(minutes=5):
        raise ValueError(f"renewBefore must be at least 5m, got {renew_before!r}")
    if renewal >= lifetime:
        raise ValueError(
            f"renewBefore ({renew_before}) must be shorter than duration "
            f"({duration or '2160h default'}); cert-manager's webhook rejects it otherwise"
        )


def check_common_name(common_name: str | None) -> None:
    """certificate.go L134-137: `len(commonName) > 64` is refused; Go's len counts UTF-8 bytes."""
    if common_name is not None and len(common_name.encode()) > 64:
        raise ValueError(f"commonName {common_name!r} is {len(common_name.encode())} bytes; cert-manager allows 64")


class IssuerRef(Spec):
    """A reference to an issuer that components accept: what `issuerRef` needs, plus what it is."""

    name: K8sName = Field(description="metadata.name of the Issuer or ClusterIssuer.")
    kind: str = Field(default="Issuer", description="Issuer, ClusterIssuer, or an external issuer's kind.")
    group: str = Field(default=GROUP, description="API group; cert-manager.io unless an external issuer.")
    issuer_type: IssuerType = Field(
        alias="type",
        description="What signs: selfSigned, ca, acme, vault, venafi or external. Used for safety checks.",
    )
    namespace: K8sName | None = Field(
        default=None,
        description="Namespace of a namespaced Issuer; a Certificate can only use an Issuer in its own namespace.",
    )
    acme_challenges: list[Literal["http01", "dns01"]] | None = Field(
        default=None,
        description="ACME issuers: the challenge types its solvers use (checks such as HTTPS redirects need it).",
    )

    @model_validator(mode="after")
    def _kind_matches_scope(self) -> IssuerRef:
        if self.group == GROUP and self.kind not in ("Issuer", "ClusterIssuer"):
            raise ValueError(f"kind must be 'Issuer' or 'ClusterIssuer' for group {GROUP}, got {self.kind!r}")
        if self.kind == "ClusterIssuer" and self.namespace is not None:
            raise ValueError(f"a ClusterIssuer has no namespace, got namespace {self.namespace!r}")
        return self

    def manifest(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "group": self.group}

    def key(self) -> tuple[str, str | None, str]:
        """(kind, namespace, name) of the issuer object, as the stack's claims name it."""
        return (self.kind, self.namespace if self.kind == "Issuer" else None, self.name)

    def usable_from(self, namespace: str) -> bool:
        return self.kind != "Issuer" or self.namespace in (None, namespace)


class PrivateKeySpec(Spec):
    algorithm: Literal["RSA", "ECDSA", "Ed25519"] = Field(default="RSA", description="Private key algorithm.")
    size: StrictInt | None = Field(
        default=None,
        description="RSA: 2048-8192 bits; ECDSA: 256, 384 or 521; 0 or unset: the default; Ed25519: unset.",
    )
    encoding: Literal["PKCS1", "PKCS8"] | None = Field(default=None, description="Private key encoding.")
    rotation_policy: Literal["Always", "Never"] | None = Field(
        default=None,
        description="Always: new key on every renewal (cert-manager >= 1.18 default); Never: keep the key.",
    )

    @model_validator(mode="after")
    def _size_fits_algorithm(self) -> PrivateKeySpec:
        # certificate.go L167-181: a size of 0 means the algorithm's default (RSA 2048, ECDSA 256).
        if self.algorithm == "RSA" and self.size and not 2048 <= self.size <= 8192:
            raise ValueError(f"size for RSA must be between 2048 and 8192 bits, got {self.size}")
        if self.algorithm == "ECDSA" and self.size and self.size not in (256, 384, 521):
            raise ValueError(f"size for ECDSA must be 256, 384 or 521, got {self.size}")
        # The webhook accepts any size for Ed25519 and the key is always 256 bits (L177). A size there is a
        # mistake that would pass silently, so it is refused rather than ignored.
        if self.algorithm == "Ed25519" and self.size is not None:
            raise ValueError(
                f"size {self.size} has no effect for Ed25519 (cert-manager ignores it; the key is always "
                "256 bits): remove size"
            )
        return self


class X509Subject(Spec):
    organizations: list[str] = Field(default_factory=list)
    organizational_units: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    localities: list[str] = Field(default_factory=list)
    street_addresses: list[str] = Field(default_factory=list)
    postal_codes: list[str] = Field(default_factory=list)
    serial_number: str | None = None

    def manifest(self) -> dict[str, Any]:
        return {k: v for k, v in super().manifest().items() if v not in ([], None)}


class SecretTemplate(Spec):
    """Labels and annotations cert-manager copies onto the Secret (how replicators such as reflector are driven)."""

    annotations: Annotations = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_cert_manager_annotations(self) -> SecretTemplate:
        # certificate.go L344-355: the webhook refuses cert-manager.io/* keys but this one.
        reserved = sorted(
            key
            for key in self.annotations
            if key.startswith("cert-manager.io/") and key != "cert-manager.io/allow-direct-injection"
        )
        if reserved:
            raise ValueError(f"annotations {reserved}: cert-manager.io/* annotations are refused by cert-manager")
        return self

    def manifest(self) -> dict[str, Any]:
        return {k: v for k, v in super().manifest().items() if v}


class KeystoreSpec(Spec):
    """`spec.keystores`: cert-manager also writes the key pair and CA as JKS and/or PKCS#12 into the Secret
    (keystore.jks / truststore.jks, keystore.p12 / truststore.p12), for Java and other keystore consumers."""

    jks: bool = Field(default=True, description="Write keystore.jks and truststore.jks.")
    pkcs12: bool = Field(default=False, description="Write keystore.p12 and truststore.p12.")
    pkcs12_profile: Literal["LegacyRC2", "LegacyDES", "Modern2023"] = Field(
        default="Modern2023", description="PKCS#12 encryption profile; Modern2023 needs a current Java/OpenSSL."
    )
    password_secret_name: K8sName = Field(description="Secret holding the keystore password under key 'password'.")

    @model_validator(mode="after")
    def _at_least_one(self) -> KeystoreSpec:
        if not (self.jks or self.pkcs12):
            raise ValueError("keystores needs jks or pkcs12 switched on")
        return self

    def manifest(self) -> dict[str, Any]:
        ref = {"name": self.password_secret_name, "key": "password"}
        body: dict[str, Any] = {}
        if self.jks:
            body["jks"] = {"create": True, "passwordSecretRef": ref}
        if self.pkcs12:
            body["pkcs12"] = {"create": True, "passwordSecretRef": ref, "profile": self.pkcs12_profile}
        return body


class CertificateSpec(Spec):
    """`Certificate.spec`: what to issue, from which issuer, into which Secret."""

    secret_name: K8sName = Field(description="Secret that cert-manager writes tls.crt, tls.key and ca.crt into.")
    issuer_ref: IssuerRef = Field(description="Issuer that signs this certificate.")
    common_name: str | None = Field(default=None, description="Subject CN (at most 64 bytes in UTF-8).")
    dns_names: list[DnsName] = Field(default_factory=list, description="DNS SANs; '*.' wildcards allowed.")
    ip_addresses: list[IPAddress] = Field(default_factory=list, description="IP SANs.")
    is_ca: bool = Field(default=False, alias="isCA", description="Issue a CA certificate that can back a `ca` issuer.")
    duration: GoDuration | None = Field(
        default=None, description="Requested lifetime, e.g. 2160h (cert-manager default 90 days)."
    )
    renew_before: GoDuration | None = Field(
        default=None, description="Renew this long before expiry; must be shorter than duration."
    )
    renew_before_percentage: StrictInt | None = Field(
        default=None,
        ge=1,
        le=99,
        description="Renew when this percentage of the lifetime is left (not with renewBefore).",
    )
    private_key: PrivateKeySpec | None = Field(
        default=None, description="Key algorithm, size, encoding, rotation policy."
    )
    usages: list[KeyUsage] | None = Field(
        default=None, description="Key usages; cert-manager defaults to digital signature + key encipherment."
    )
    subject: X509Subject | None = Field(default=None, description="Subject fields other than CN.")
    secret_template: SecretTemplate | None = Field(default=None, description="Labels/annotations for the Secret.")
    keystores: KeystoreSpec | None = Field(
        default=None, description="Also write JKS / PKCS#12 keystores into the Secret."
    )

    @model_validator(mode="after")
    def _cert_manager_rules(self) -> CertificateSpec:
        if not (self.common_name or self.dns_names or self.ip_addresses):
            raise ValueError("at least one of commonName, dnsNames or ipAddresses must be set")
        for field, values in (("dnsNames", self.dns_names), ("ipAddresses", self.ip_addresses)):
            dupes = repeated(values)
            if dupes:
                raise ValueError(f"{field} lists {dupes} more than once")
        check_common_name(self.common_name)
        check_lifetime(self.duration, self.renew_before, self.renew_before_percentage)
        if self.is_ca and self.usages and "server auth" in self.usages:
            raise ValueError(
                "a CA certificate (isCA: true) must not carry 'server auth': TLS clients such as rustls "
                "refuse a CA used as an end-entity certificate; issue a separate leaf from the CA issuer"
            )
        return self

    def manifest(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"secretName": self.secret_name, "issuerRef": self.issuer_ref.manifest()}
        if self.common_name:
            spec["commonName"] = self.common_name
        if self.dns_names:
            spec["dnsNames"] = list(self.dns_names)
        if self.ip_addresses:
            spec["ipAddresses"] = list(self.ip_addresses)
        if self.is_ca:
            spec["isCA"] = True
        for key, value in (
            ("duration", self.duration),
            ("renewBefore", self.renew_before),
            ("renewBeforePercentage", self.renew_before_percentage),
        ):
            if value:
                spec[key] = value
        if self.private_key:
            spec["privateKey"] = self.private_key.manifest()
        if self.usages:
            spec["usages"] = list(self.usages)
        for key, model in (
            ("subject", self.subject),
            ("secretTemplate", self.secret_template),
            ("keystores", self.keystores),
        ):
            body = model.manifest() if model else None
            if body:
                spec[key] = body
        return spec


# --- Issuers -------------------------------------------------------------------------------------


class SelfSignedIssuerSpec(Spec):
    type: Literal["selfSigned"] = "selfSigned"

    def manifest(self) -> dict[str, Any]:
        return {"selfSigned": {}}


class CAIssuerSpec(Spec):
    type: Literal["ca"] = "ca"
    secret_name: K8sName = Field(description="Secret holding the CA's tls.crt and tls.key.")

    def manifest(self) -> dict[str, Any]:
        return {"ca": {"secretName": self.secret_name}}


class SolverSelector(Spec):
    dns_names: list[DnsName] = Field(default_factory=list)
    dns_zones: list[DnsName] = Field(default_factory=list)
    match_labels: dict[str, str] = Field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {k: v for k, v in super().manifest().items() if v}


class Http01IngressSolver(Spec):
    ingress_class_name: DnsLabel = Field(default="nginx", description="IngressClass that serves the HTTP-01 challenge.")

    def manifest(self) -> dict[str, Any]:
        return {"ingress": {"ingressClassName": self.ingress_class_name}}


class Dns01WebhookSolver(Spec):
    group_name: K8sName = Field(description="Must equal the webhook chart's groupName.")
    solver_name: str = Field(min_length=1, description="Solver name the webhook registers, e.g. 'dnspod'.")
    config: dict[str, Any] = Field(default_factory=dict, description="Webhook-specific config (secret refs, ttl).")

    def manifest(self) -> dict[str, Any]:
        body: dict[str, Any] = {"groupName": self.group_name, "solverName": self.solver_name}
        if self.config:
            body["config"] = self.config
        return {"webhook": body}


# cert-manager v1.21.0 added ACMEChallengeSolver.waitInsteadOfSelfCheck (pkg/apis/acme/v1/types_issuer.go v1.21.1
# L181-198): no self-check, a fixed wait after presenting, "for example due to split-horizon DNS".
WAIT_INSTEAD_OF_SELF_CHECK_SINCE = (1, 21, 0)


class AcmeSolver(Spec):
    selector: SolverSelector | None = None
    http01: Http01IngressSolver | None = None
    dns01: Dns01WebhookSolver | None = None
    wait_instead_of_self_check: GoDuration | None = Field(
        default=None,
        description="Skip cert-manager's self-check and wait this long after presenting before the ACME server "
        "validates (cert-manager >= v1.21).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> AcmeSolver:
        if (self.http01 is None) == (self.dns01 is None):
            raise ValueError("each ACME solver sets exactly one of http01 or dns01")
        if self.wait_instead_of_self_check is not None and self.wait_instead_of_self_check.startswith("-"):
            # internal/apis/certmanager/validation/issuer.go v1.21.1 L174: "A negative duration is rejected".
            raise ValueError("waitInsteadOfSelfCheck must not be negative")
        return self

    def manifest(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.selector and self.selector.manifest():
            body["selector"] = self.selector.manifest()
        if self.http01:
            body["http01"] = self.http01.manifest()
        if self.dns01:
            body["dns01"] = self.dns01.manifest()
        if self.wait_instead_of_self_check is not None:
            body["waitInsteadOfSelfCheck"] = self.wait_instead_of_self_check
        return body


LETSENCRYPT = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


class AcmeIssuerSpec(Spec):
    type: Literal["acme"] = "acme"
    server: str = Field(
        default="letsencrypt-staging",
        description="'letsencrypt', 'letsencrypt-staging', or an https:// ACME directory URL.",
    )
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="ACME account e-mail.")
    private_key_secret_name: K8sName = Field(description="Secret for the ACME account key.")
    solvers: list[AcmeSolver] = Field(min_length=1)
    ca_bundle: str | None = Field(
        default=None, description="PEM CA certificates of a private ACME server (step-ca, Vault, pebble)."
    )

    @model_validator(mode="after")
    def _server_is_url(self) -> AcmeIssuerSpec:
        if self.server not in LETSENCRYPT and not self.server.startswith("https://"):
            raise ValueError(
                f"server must be 'letsencrypt', 'letsencrypt-staging' or an https:// URL, got {self.server!r}"
            )
        return self

    @property
    def server_url(self) -> str:
        return LETSENCRYPT.get(self.server, self.server)

    @property
    def is_staging(self) -> bool:
        return "staging" in self.server_url

    @property
    def is_letsencrypt_production(self) -> bool:
        return self.server_url == LETSENCRYPT["letsencrypt"]

    def manifest(self) -> dict[str, Any]:
        acme: dict[str, Any] = {
            "server": self.server_url,
            "email": self.email,
            "privateKeySecretRef": {"name": self.private_key_secret_name},
            "solvers": [s.manifest() for s in self.solvers],
        }
        if self.ca_bundle is not None:
            # ACMEIssuer.caBundle (types_issuer.go v1.21.1 L66): base64 PEM, trusted for the server's TLS only.
            acme["caBundle"] = base64.b64encode(self.ca_bundle.encode()).decode()
        return {"acme": acme}


IssuerSpec = SelfSignedIssuerSpec | CAIssuerSpec | AcmeIssuerSpec
