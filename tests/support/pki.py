"""Issue X.509 certificates from cert-manager objects the way cert-manager would, for real TLS tests.

Follows cert-manager's pkg/util/pki: subject CN and fields from `commonName`/`subject`, SANs from
`dnsNames`/`ipAddresses`, BasicConstraints from `isCA`, key usages from `usages` (default "digital
signature, key encipherment"; `cert sign` added for CAs; BuildKeyUsages), lifetime from `duration`
(default 90 days), key from `privateKey` (default RSA 2048). A `selfSigned` issuer signs with the
certificate's own key (so ca.crt == tls.crt); a `ca` issuer signs with the key pair in its `ca.secretName`,
read from the Issuer's namespace or, for a ClusterIssuer, from the cluster-resource namespace.
Every component's tests (Hubble, Whizard, Istio) use this one helper.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cluster_tls.components.durations import parse_go_duration

_EXT_USAGES = {
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}
_KEY_USAGES = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}
_CURVES = {256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}
_SUBJECT_FIELDS = {
    "organizations": NameOID.ORGANIZATION_NAME,
    "organizationalUnits": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "countries": NameOID.COUNTRY_NAME,
    "provinces": NameOID.STATE_OR_PROVINCE_NAME,
    "localities": NameOID.LOCALITY_NAME,
    "streetAddresses": NameOID.STREET_ADDRESS,
    "postalCodes": NameOID.POSTAL_CODE,
}


class IssuanceError(Exception):
    """What cert-manager would report instead of issuing."""


@dataclass(frozen=True)
class IssuedSecret:
    """The `kubernetes.io/tls` Secret cert-manager writes: tls.crt, tls.key, ca.crt (PEM)."""

    certificate: x509.Certificate
    key: Any
    ca: x509.Certificate

    @property
    def tls_crt(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def tls_key(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def ca_crt(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def write(self, folder: Path) -> dict[str, Path]:
        """Write the Secret's keys as files, as a pod mounting it would see them."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for key, data in (("tls.crt", self.tls_crt), ("tls.key", self.tls_key), ("ca.crt", self.ca_crt)):
            paths[key] = folder / key
            paths[key].write_bytes(data)
        return paths


def _new_key(private_key: dict[str, Any]):
    algorithm = private_key.get("algorithm", "RSA")
    size = private_key.get("size")
    if algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=size or 2048)
    if algorithm == "ECDSA":
        return ec.generate_private_key(_CURVES[size or 256]())
    if algorithm == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise IssuanceError(f"unknown private key algorithm {algorithm!r}")


def _signature_hash(signer_key):
    if isinstance(signer_key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(signer_key, ec.EllipticCurvePrivateKey):
        return {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[signer_key.curve.key_size]
    return hashes.SHA256()


def _subject(spec: dict[str, Any]) -> x509.Name:
    attributes = []
    for field, oid in _SUBJECT_FIELDS.items():
        attributes += [x509.NameAttribute(oid, value) for value in (spec.get("subject") or {}).get(field, [])]
    if spec.get("commonName"):
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, spec["commonName"]))
    return x509.Name(attributes)


def _key_usage(usages: list[str], is_ca: bool) -> tuple[x509.KeyUsage, list]:
    flags = dict.fromkeys(set(_KEY_USAGES.values()), False)
    extended = []
    for usage in usages or ["digital signature", "key encipherment"]:
        if usage in _KEY_USAGES:
            flags[_KEY_USAGES[usage]] = True
        elif usage in _EXT_USAGES:
            extended.append(_EXT_USAGES[usage])
        else:
            raise IssuanceError(f"unknown key usages: [{usage}]")
    if is_ca:
        flags["key_cert_sign"] = True
    return x509.KeyUsage(**flags), extended


class CertManager:
    """A tiny, in-memory cert-manager: issuers and Secrets by (namespace, name)."""

    def __init__(self, cluster_resource_namespace: str = "cert-manager"):
        self.cluster_resource_namespace = cluster_resource_namespace
        self.issuers: dict[tuple[str | None, str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], IssuedSecret] = {}

    def apply(self, obj: dict[str, Any]) -> IssuedSecret | None:
        """Apply an Issuer, ClusterIssuer or Certificate manifest; a Certificate is issued at once."""
        kind, metadata = obj["kind"], obj["metadata"]
        if kind in ("Issuer", "ClusterIssuer"):
            namespace = metadata.get("namespace") if kind == "Issuer" else None
            self.issuers[(namespace, kind, metadata["name"])] = obj
            return None
        if kind == "Certificate":
            return self.issue(obj)
        raise IssuanceError(f"not a cert-manager object: {kind}")

    def issue(self, certificate: dict[str, Any]) -> IssuedSecret:
        namespace = certificate["metadata"]["namespace"]
        spec = certificate["spec"]
        ref = spec["issuerRef"]
        kind = ref.get("kind", "Issuer")
        issuer = self.issuers.get((namespace if kind == "Issuer" else None, kind, ref["name"]))
        if issuer is None:
            raise IssuanceError(f'{kind.lower()}.cert-manager.io "{ref["name"]}" not found')
        key = _new_key(spec.get("privateKey") or {})
        subject = _subject(spec)
        issuer_spec = issuer["spec"]
        if "selfSigned" in issuer_spec:
            signer_key, issuer_name, ca_cert = key, subject, None
        elif "ca" in issuer_spec:
            secret_namespace = issuer["metadata"]["namespace"] if kind == "Issuer" else self.cluster_resource_namespace
            ca_secret = self.secrets.get((secret_namespace, issuer_spec["ca"]["secretName"]))
            if ca_secret is None:
                raise IssuanceError(
                    f'Error getting keypair for CA issuer: secret "{issuer_spec["ca"]["secretName"]}" not found '
                    f"in {secret_namespace}"
                )
            basic = ca_secret.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not basic.ca:
                raise IssuanceError("Error getting keypair for CA issuer: certificate is not a CA")
            signer_key, issuer_name, ca_cert = ca_secret.key, ca_secret.certificate.subject, ca_secret.ca
        else:
            raise IssuanceError(f"this helper issues only from selfSigned and ca issuers, not {sorted(issuer_spec)}")

        is_ca = bool(spec.get("isCA"))
        key_usage, extended = _key_usage(spec.get("usages") or [], is_ca)
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        lifetime = parse_go_duration(spec["duration"]) if spec.get("duration") else datetime.timedelta(days=90)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in spec.get("dnsNames", [])]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in spec.get("ipAddresses", [])]
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + lifetime)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
        if ca_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False
            )
        issued = builder.sign(signer_key, _signature_hash(signer_key))
        secret = IssuedSecret(certificate=issued, key=key, ca=ca_cert or issued)
        self.secrets[(namespace, spec["secretName"])] = secret
        return secret
