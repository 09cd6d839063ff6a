"""One bounded TLS exchange on 127.0.0.1: a server that accepts one connection, answers, and stops.

The server speaks first after the handshake ("ready"), so the client reads the server's verdict before
it writes. In TLS 1.3 the client finishes its handshake before the server has checked the client
certificate; if the client wrote first, its data could reach a server already closing, and the reset
would discard the "certificate required" alert before the client read it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 5.0


def server_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """Like a Hubble peer: TLS 1.3, and with a client CA, a client certificate is required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the server name
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


@dataclass
class ServerResult:
    peer_subject: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class OneShotServer:
    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.result = ServerResult()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(TIMEOUT)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> OneShotServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._thread.join(TIMEOUT)
        self._listener.close()

    def _serve(self) -> None:
        try:
            raw, _ = self._listener.accept()
            raw.settimeout(TIMEOUT)
            with self.context.wrap_socket(raw, server_side=True) as tls:
                peer = tls.getpeercert()
                subject = dict(item for rdn in peer.get("subject", ()) for item in rdn) if peer else {}
                self.result.peer_subject = subject.get("commonName")
                tls.sendall(b"ready")
                request = tls.recv(64)
                tls.sendall(b"OK " + request)
        except (OSError, ssl.SSLError) as error:
            self.result.error = f"{type(error).__name__}: {error}"
        finally:
            self.result.done.set()


def tls_request(port: int, context: ssl.SSLContext, server_name: str) -> bytes:
    """Handshake as `server_name`, wait for the server, send a ping, return the answer.

    Raises ssl.SSLError when the server refuses the client (e.g. TLSV13_ALERT_CERTIFICATE_REQUIRED).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            greeting = tls.recv(5)
            if greeting != b"ready":
                raise ConnectionError(f"server closed the connection after the handshake: {greeting!r}")
            tls.sendall(b"ping")
            return tls.recv(64)


def plaintext_request(port: int) -> bytes:
    """What a client without TLS gets: send an HTTP/2 (gRPC) preface, read until the server closes or resets."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        try:
            while chunk := raw.recv(64):
                received += chunk
        except ConnectionResetError:
            pass
    return received
