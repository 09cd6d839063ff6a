"""Gateway API: ReferenceGrants, listener hostnames, cert-manager's Gateway support."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...components.hosts import covered
from ..engine import rule
from ..view import Obj, StackView, all_known, is_known
from ._common import (
    SHIM_ANNOTATIONS,
    Findings,
    _maybe,
    _server_certificates,
)


def _any_maybe(items: Any, test: Callable[[Any], bool]) -> bool:
    """Some item of `items` passes `test`, or may (the list or an item is unknown)."""
    return not is_known(items) or any(not is_known(item) or test(item) for item in items)


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
                host = listener.get("hostname")
                for certificate, names in _server_certificates(
                    view, ref.get("namespace", gateway.namespace), ref.get("name")
                ):
                    if host and all_known([names, *names, host]) and not covered(names, host):
                        yield (
                            gateway,
                            f"listener hostname {host!r} is not covered by {ref.get('name')!r} as "
                            f"{certificate.describe()} writes it: add it to the certificate",
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
        if not enabled and any(k in annotations for k in SHIM_ANNOTATIONS):
            yield (
                gateway,
                "cert-manager issues for annotated Gateways only with config.gatewayAPI.enabled: switch it on",
            )


def _passthrough_listeners(view: StackView, protocol: str) -> Findings:
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners", []):
            tls = listener.get("tls") or {}
            if listener.get("protocol") == protocol and tls.get("mode") == "Passthrough" and tls.get("certificateRefs"):
                yield gateway, listener


@rule("GW4", "error", "an HTTPS listener terminates TLS (Passthrough serves no HTTPRoute)")
def https_listener_passthrough(view: StackView) -> Findings:
    """Gateway API v1.6.1 Listener: HTTPRoutes attach to `HTTPS` with TLS mode Terminate and a key pair; Passthrough
    is TLSRoute's, on protocol TLS, and ignores certificateRefs (GatewayTLSConfig.mode). An HTTPS listener in
    Passthrough with certificateRefs serves neither its routes nor the certificate (issue 29)."""
    for gateway, listener in _passthrough_listeners(view, "HTTPS"):
        yield (
            gateway,
            f"listener {listener.get('name')!r} is HTTPS in Passthrough: its certificateRefs are ignored and no "
            "HTTPRoute attaches; use mode Terminate (or protocol TLS with a TLSRoute and no certificateRefs)",
        )


@rule("GW4b", "warning", "a Passthrough listener's certificateRefs are ignored")
def tls_listener_passthrough_refs(view: StackView) -> Findings:
    for gateway, listener in _passthrough_listeners(view, "TLS"):
        yield (
            gateway,
            f"listener {listener.get('name')!r} passes TLS through: its certificateRefs are ignored (the backend "
            "serves its own certificate); drop them, or terminate with mode Terminate",
        )


@rule("GW5", "error", "gateway-shim makes a certificate only for a listener with a hostname")
def gateway_shim_listener_hostnames(view: StackView) -> Findings:
    """cert-manager's gateway-shim refuses a terminating listener with certificateRefs and no hostname ("the
    hostname cannot be empty", certificate-shim validateGatewayListenerBlock), so its Secret is never written and
    the listener serves nothing (issue 29)."""
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        annotations = gateway.metadata.get("annotations") or {}
        if not any(k in annotations for k in SHIM_ANNOTATIONS):
            continue
        for listener in gateway.spec.get("listeners", []):
            tls = listener.get("tls") or {}
            if (
                tls.get("certificateRefs")
                and tls.get("mode", "Terminate") == "Terminate"
                and not listener.get("hostname")
            ):
                yield (
                    gateway,
                    f"listener {listener.get('name')!r} has no hostname: cert-manager makes no certificate for it, so "
                    "its Secret is never written; give it a hostname",
                )
