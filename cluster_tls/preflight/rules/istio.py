"""F. Istio gateways: where the workload reads its Secret, hosts, selectors, shared certificates."""

from __future__ import annotations

from ...components.hosts import CertificateNames, covered
from ..engine import rule
from ..view import Obj, Release, StackView, all_known, is_known
from ._common import (
    Findings,
    _gateway_pod_labels,
    _gateway_releases,
    _issuer,
    _issuer_type,
    _istio_workload_namespace,
    _secret_producers,
    _server_certificates,
    _written_elsewhere,
)


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


@rule("F2", "error", "the certificate covers every gateway host")
def istio_hosts_covered(view: StackView) -> Findings:
    for gateway in view.of("Gateway", "networking.istio.io"):
        for server in gateway.spec.get("servers", []):
            name = (server.get("tls") or {}).get("credentialName")
            producers = _server_certificates(view, _istio_workload_namespace(view, gateway), name) if name else []
            for certificate, names in producers:
                if not all_known([names, *names]):
                    continue  # an unknown name may cover any host
                coverage = CertificateNames(names)
                for host in [h for h in server.get("hosts", []) if is_known(h)]:
                    bare = host.split("/", 1)[-1]
                    if not covered(coverage, bare):
                        yield (
                            gateway,
                            f"host {bare!r} is not covered by {name!r} as {certificate.describe()} writes it "
                            f"({', '.join(names)}): add it to the certificate",
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


def _client_tls_settings(rule_spec: dict) -> list[tuple[str, dict]]:
    """Every ClientTLSSettings of a DestinationRule: its traffic policy, per port, and per subset."""
    found = []
    policies = [("trafficPolicy", rule_spec.get("trafficPolicy") or {})]
    policies += [
        (f"subsets[{i}].trafficPolicy", s.get("trafficPolicy") or {})
        for i, s in enumerate(rule_spec.get("subsets") or [])
    ]
    for where, policy in policies:
        if not isinstance(policy, dict):
            continue
        if isinstance(policy.get("tls"), dict):
            found.append((f"{where}.tls", policy["tls"]))
        for j, port in enumerate(policy.get("portLevelSettings") or []):
            if isinstance(port, dict) and isinstance(port.get("tls"), dict):
                found.append((f"{where}.portLevelSettings[{j}].tls", port["tls"]))
    return found


@rule("F9", "error", "a DestinationRule's MUTUAL TLS presents a client certificate")
def destination_rule_client_tls(view: StackView) -> Findings:
    """Istio's validation of ClientTLSSettings (pkg/config/validation ValidateTLS, 1.30): MUTUAL without
    credentialName needs clientCertificate and privateKey; with credentialName, no file paths. Mesh mTLS between
    sidecars is ISTIO_MUTUAL, with none of them (issue 29: the client side of mutual TLS)."""
    for destination in view.of("DestinationRule", "networking.istio.io"):
        for where, tls in _client_tls_settings(destination.spec):
            mode, credential = tls.get("mode"), tls.get("credentialName")
            if not all_known([mode, credential]):
                continue
            files = [f for f in ("clientCertificate", "privateKey", "caCertificates", "caCrl") if tls.get(f)]
            if mode in ("SIMPLE", "MUTUAL") and credential and files:
                yield (
                    destination,
                    f"{where} sets credentialName and {', '.join(files)}: Istio refuses both (cannot specify client "
                    "certificates or CA certificate If credentialName is set); keep credentialName",
                )
            elif mode == "MUTUAL" and not credential and not ("clientCertificate" in files and "privateKey" in files):
                yield (
                    destination,
                    f"{where} is MUTUAL with no client certificate: Istio refuses it (client certificate required for "
                    "mutual tls); set credentialName to a Secret with tls.crt, tls.key and ca.crt in the namespace of "
                    "the workload that sends, or use ISTIO_MUTUAL for the mesh's own mTLS",
                )
