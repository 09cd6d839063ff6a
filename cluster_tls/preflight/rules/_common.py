"""What several rule groups share: finding issuers and Certificates, durations, grouping, where a Secret is written."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..view import Obj, Release, StackView, Unknown, all_known, is_known

CERT_MANAGER = "cert-manager.io"


REFLECTOR = "reflector.v1.k8s.emberstack.com/"


Findings = Iterator[tuple[Obj | Release | str, str]]


def _issuer(view: StackView, ref: dict, namespace: str | None) -> Obj | None:
    kind = ref.get("kind") or "Issuer"
    return view.find(kind, ref.get("name", ""), namespace if kind == "Issuer" else None)


def _issuer_type(issuer: Obj | None) -> str | None:
    if issuer is None:
        return None
    return next((k for k in ("selfSigned", "ca", "acme", "vault", "venafi") if k in issuer.spec), None)


# The annotations that ask cert-manager's ingress-shim and gateway-shim for certificates, and the issuer kind each
# names (cert-manager.io/docs/usage/ingress, /gateway).
SHIM_ANNOTATIONS = {"cert-manager.io/cluster-issuer": "ClusterIssuer", "cert-manager.io/issuer": "Issuer"}


def _certificates(view: StackView) -> list[Obj]:
    return view.of("Certificate", CERT_MANAGER)


def _go_duration(text: object) -> timedelta | None:
    from ...components.durations import parse_go_duration

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


@dataclass(frozen=True)
class SecretRead:
    """An object that reads a certificate Secret: where it reads it and the hosts it serves with it."""

    consumer: Obj
    namespace: str | None
    secret: str
    hosts: tuple[str, ...] = ()


def secret_reads(view: StackView) -> Iterator[SecretRead]:
    """Every object that reads a certificate Secret (Istio credentialName, Ingress tls, Gateway API certificateRefs,
    Whizard httpServerTLSConfig), with the hosts each serves from it."""
    for gateway in view.of("Gateway", "networking.istio.io"):
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            if name:
                hosts = tuple(h.split("/", 1)[-1] for h in server.get("hosts", []) if is_known(h))
                yield SecretRead(gateway, _istio_workload_namespace(view, gateway), name, hosts)
    for ingress in view.of("Ingress"):
        for tls in ingress.spec.get("tls", []):
            if tls.get("secretName"):
                hosts = tuple(h for h in tls.get("hosts", []) if is_known(h))
                yield SecretRead(ingress, ingress.namespace, tls["secretName"], hosts)
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners", []):
            hostname = listener.get("hostname")
            hosts = (hostname,) if hostname and is_known(hostname) else ()
            for ref in (listener.get("tls") or {}).get("certificateRefs", []):
                yield SecretRead(gateway, ref.get("namespace", gateway.namespace), ref.get("name"), hosts)
    for obj in view.objects:
        if obj.group == "monitoring.whizard.io":
            spec = obj.spec.get("webConfig", obj.spec)
            tls = spec.get("httpServerTLSConfig") or {}
            if (tls.get("certSecret") or {}).get("name"):
                yield SecretRead(obj, obj.namespace, tls["certSecret"]["name"])


def _consumers(view: StackView) -> Iterator[tuple[Obj, str | None, str]]:
    """(consumer, namespace, Secret name) for every object that reads a certificate Secret."""
    for read in secret_reads(view):
        yield read.consumer, read.namespace, read.secret


def _acme(issuer: Obj | None) -> dict | None:
    return issuer.spec.get("acme") if issuer is not None and "acme" in issuer.spec else None


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


def _server_certificates(view: StackView, namespace: str | None, secret: str) -> list[tuple[Obj, list[str]]]:
    """(Certificate, its dnsNames) of every Certificate that writes `secret` where it is read: whichever wrote last
    is served, so a host must be covered by each (issue 29: taking the first one found made the answer depend on
    the order objects were registered in, and the pack disagreed with `check`; CM2 reports two writers)."""
    return sorted(
        ((c, c.spec.get("dnsNames") or []) for c in _secret_producers(view, namespace, secret)),
        key=lambda pair: pair[0].describe(),
    )


def _split(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}
