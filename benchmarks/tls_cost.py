"""What the TLS this package configures costs at run time, on loopback (seed 000 promised these numbers).

    .venv/bin/python benchmarks/tls_cost.py [--seconds 2] [--json out.json] [--quick]

For each key type the package offers (RSA 2048, RSA 4096, ECDSA P-256, ECDSA P-384, Ed25519), with TLS 1.3 and
1.2, with and without a client certificate (mTLS, as Hubble uses): full handshakes per second and CPU time per
handshake on the server and the client side, and resumed sessions (session tickets). Then, for the default key,
the throughput of a 1 MiB response over TLS against plain TCP, and the added latency of the first request.
Server and client are threads of this process on 127.0.0.1; every loop is bounded by count and time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import socket
import ssl
import statistics
import tempfile
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from report import header, write

KEYS = {
    "RSA 2048": lambda: rsa.generate_private_key(65537, 2048),
    "RSA 4096": lambda: rsa.generate_private_key(65537, 4096),
    "ECDSA P-256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ECDSA P-384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "Ed25519": ed25519.Ed25519PrivateKey.generate,
}
HOST = "bench.cluster-tls.test"
MIB = 1024 * 1024


def _hash_for(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _certificate(subject_key, issuer_key, issuer_name, name, *, ca=False, usage=None, dns=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, _hash_for(issuer_key))


def _pem(cert, key, folder: Path, stem: str) -> tuple[Path, Path]:
    crt, pem = folder / f"{stem}.crt", folder / f"{stem}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return crt, pem


def pki(kind: str, folder: Path) -> dict[str, Path]:
    """A CA of the same key type, a server leaf and a client leaf, as the package's chains issue them."""
    ca_key, server_key, client_key = KEYS[kind](), KEYS[kind](), KEYS[kind]()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{kind} CA")])
    ca = _certificate(ca_key, ca_key, ca_name, f"{kind} CA", ca=True)
    server = _certificate(server_key, ca_key, ca_name, HOST, usage=ExtendedKeyUsageOID.SERVER_AUTH, dns=HOST)
    client = _certificate(client_key, ca_key, ca_name, "client", usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_crt, _ = _pem(ca, ca_key, folder, "ca")
    server_crt, server_pem = _pem(server, server_key, folder, "server")
    client_crt, client_pem = _pem(client, client_key, folder, "client")
    return {
        "ca": ca_crt,
        "server": server_crt,
        "server_key": server_pem,
        "client": client_crt,
        "client_key": client_pem,
    }


class Server:
    """Accepts connections until stopped; answers each request with `size` bytes. Counts its own CPU time."""

    def __init__(self, context: ssl.SSLContext | None, size: int = 2):
        self.context, self.payload = context, b"x" * size
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self.cpu = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        start = time.thread_time()
        while not self.stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            try:
                raw.settimeout(5)
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
                conn = self.context.wrap_socket(raw, server_side=True) if self.context else raw
                if conn.recv(16):
                    conn.sendall(self.payload)
                conn.close()
            except (OSError, ssl.SSLError):
                raw.close()
        self.cpu = time.thread_time() - start


def contexts(files: dict[str, Path], version: ssl.TLSVersion, mtls: bool) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = server.maximum_version = version
    server.load_cert_chain(files["server"], files["server_key"])
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.minimum_version = client.maximum_version = version
    client.load_verify_locations(files["ca"])
    if mtls:
        server.verify_mode = ssl.CERT_REQUIRED
        server.load_verify_locations(files["ca"])
        client.load_cert_chain(files["client"], files["client_key"])
    return server, client


def request(port: int, context: ssl.SSLContext | None, session=None, expect: int = 2):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = context.wrap_socket(sock, server_hostname=HOST, session=session) if context else sock
    conn.sendall(b"GET")
    received = 0
    while received < expect:
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += len(chunk)
    resumed = getattr(conn, "session_reused", False)
    new_session = getattr(conn, "session", None)
    conn.close()
    return received, resumed, new_session


def handshakes(files, version, mtls, seconds: float, limit: int, resume: bool) -> dict:
    server_ctx, client_ctx = contexts(files, version, mtls)
    with Server(server_ctx) as server:
        _, _, session = request(server.port, client_ctx)  # warm up, and a session to resume
        count, resumed, client_cpu = 0, 0, 0.0
        start = time.perf_counter()
        while count < limit and time.perf_counter() - start < seconds:
            cpu = time.thread_time()
            _, was_resumed, new = request(server.port, client_ctx, session if resume else None)
            client_cpu += time.thread_time() - cpu
            session = new if resume and new is not None else session
            count += 1
            resumed += bool(was_resumed)
        wall = time.perf_counter() - start
    return {
        "per_second": count / wall,
        "server_cpu_ms": server.cpu / (count + 1) * 1000,
        "client_cpu_ms": client_cpu / count * 1000,
        "resumed_share": resumed / count,
        "count": count,
    }


def bulk(files, rounds: int) -> dict:
    server_ctx, client_ctx = contexts(files, ssl.TLSVersion.TLSv1_3, mtls=False)
    results = {}
    for label, server_context, client_context in (("tls", server_ctx, client_ctx), ("plain", None, None)):
        with Server(server_context, MIB) as server:
            times, firsts = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                received, _, _ = request(server.port, client_context, expect=MIB)
                times.append(time.perf_counter() - start)
                assert received == MIB
                start = time.perf_counter()
                request(server.port, client_context, expect=1)  # first byte of a small answer: connect + handshake
                firsts.append(time.perf_counter() - start)
        results[label] = {
            "mib_per_second": 1 / statistics.median(times),
            "first_request_ms": statistics.median(firsts) * 1000,
        }
    results["added_first_request_ms"] = results["tls"]["first_request_ms"] - results["plain"]["first_request_ms"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds, limit, rounds = (0.05, 20, 2) if args.quick else (args.seconds, 20000, 15)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for kind in KEYS:
            folder = Path(scratch) / kind.replace(" ", "-")
            folder.mkdir()
            files = pki(kind, folder)
            for version, label in ((ssl.TLSVersion.TLSv1_3, "1.3"), (ssl.TLSVersion.TLSv1_2, "1.2")):
                for mtls in (False, True):
                    for resume in (False, True):
                        row = {"key": kind, "tls": label, "mtls": mtls, "resumed": resume}
                        row |= handshakes(files, version, mtls, seconds, limit, resume)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
        default = Path(scratch) / "default"
        default.mkdir()
        throughput = bulk(pki("ECDSA P-256", default), rounds)
    report = {**header(ssl.OPENSSL_VERSION), "rows": rows, "bulk_ecdsa_p256_tls13": throughput}
    print(table(report))
    write(args.json, report)


def table(report: dict) -> str:
    lines = [
        "| key | TLS | mTLS | resumed | handshakes/s | server CPU ms | client CPU ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['key']} | {r['tls']} | {'yes' if r['mtls'] else 'no'} | {'yes' if r['resumed'] else 'no'} "
            f"({r['resumed_share']:.0%}) | {r['per_second']:.0f} | {r['server_cpu_ms']:.2f} | {r['client_cpu_ms']:.2f} |"
        )
    bulk = report["bulk_ecdsa_p256_tls13"]
    lines += [
        "",
        f"1 MiB response (ECDSA P-256, TLS 1.3): {bulk['tls']['mib_per_second']:.0f} MiB/s over TLS, "
        f"{bulk['plain']['mib_per_second']:.0f} MiB/s plain; first request {bulk['tls']['first_request_ms']:.2f} ms "
        f"vs {bulk['plain']['first_request_ms']:.2f} ms (+{bulk['added_first_request_ms']:.2f} ms).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
