"""The repository's TLS checks on Secrets the real cert-manager wrote: chain, SANs, usages, handshakes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.e2e.kube import Kube
from tests.support.tls_loopback import OneShotServer, client_context, server_context, tls_request

EKU = {"server auth": ExtendedKeyUsageOID.SERVER_AUTH, "client auth": ExtendedKeyUsageOID.CLIENT_AUTH}


@dataclass
class IssuedPair:
    name: str
    tls_crt: bytes
    tls_key: bytes
    ca_crt: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.tls_crt)[0]

    @property
    def ca(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_crt)

    def write(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for key, data in (("tls.crt", self.tls_crt), ("tls.key", self.tls_key), ("ca.crt", self.ca_crt)):
            paths[key] = folder / f"{self.name}-{key}"
            paths[key].write_bytes(data)
        return paths


def issued(kube: Kube, namespace: str, secret_name: str) -> IssuedPair:
    secret = kube.get("v1", "Secret", secret_name, namespace)
    assert secret is not None, f"Secret {namespace}/{secret_name} was not written"
    data = {k: base64.b64decode(v) for k, v in secret.get("data", {}).items()}
    assert secret["type"] == "kubernetes.io/tls", secret["type"]
    for key in ("tls.crt", "tls.key", "ca.crt"):
        assert data.get(key), f"Secret {namespace}/{secret_name} has no {key}"
    return IssuedPair(f"{namespace}-{secret_name}", data["tls.crt"], data["tls.key"], data["ca.crt"])


def check_against_spec(pair: IssuedPair, spec: dict[str, Any], ca: x509.Certificate) -> None:
    """The certificate cert-manager issued is what the Certificate asked for, and chains to `ca`."""
    cert = pair.certificate
    cert.verify_directly_issued_by(ca)
    try:
        dns = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        dns = []
    assert sorted(dns) == sorted(spec.get("dnsNames", [])), (pair.name, dns)
    is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert is_ca == bool(spec.get("isCA")), f"{pair.name}: isCA {is_ca}"
    wanted = [EKU[u] for u in spec.get("usages", []) if u in EKU]
    if wanted:
        got = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert sorted(o.dotted_string for o in got) == sorted(o.dotted_string for o in wanted)
    key = spec.get("privateKey") or {}
    algorithm = key.get("algorithm", "RSA")
    public = cert.public_key()
    if algorithm == "ECDSA":
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.key_size == key.get("size", 256)
    elif algorithm == "RSA":
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == (key.get("size") or 2048)


def serve_and_connect(
    pair: IssuedPair,
    folder: Path,
    server_name: str,
    trust: Path,
    client: IssuedPair | None = None,
    client_ca: Path | None = None,
) -> bytes:
    """One TLS exchange on loopback with the issued key pair; raises ssl.SSLError when refused."""
    paths = pair.write(folder)
    client_paths = client.write(folder) if client else {}
    with OneShotServer(server_context(paths["tls.crt"], paths["tls.key"], client_ca)) as server:
        context = client_context(trust, client_paths.get("tls.crt"), client_paths.get("tls.key"))
        try:
            return tls_request(server.port, context, server_name)
        finally:
            server.result.done.wait(5)
