"""G. Whizard: the TLS path each version reads, one layout, Secrets where the resource reads them."""

from __future__ import annotations

from typing import Any

from ..engine import rule
from ..view import Obj, StackView, is_known
from ._common import (
    Findings,
    _written_elsewhere,
)

WHIZARD = "monitoring.whizard.io"


def _whizard_versions(view: StackView) -> set[str]:
    return {o["whizard_version"] for o in view.outputs.values() if isinstance(o, dict) and o.get("whizard_version")}


@rule("G1", "error", "Whizard TLS sits where the installed version reads it")
def whizard_tls_path(view: StackView) -> Findings:
    from ...components.model import version_tuple

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
