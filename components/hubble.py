"""HubbleTLS: Cilium Hubble's mutual TLS, issued by cert-manager from one private CA.

With `hubble.tls.auto.method=certmanager` the Cilium chart creates a cert-manager Certificate per Hubble
peer role, each with `issuerRef` = `hubble.tls.auto.certManagerIssuerRef`. Every peer must chain to the
same CA: a selfSigned issuer gives each certificate its own root (relay fails with "x509: certificate signed
by unknown authority", seed 001, cilium#30941), and ACME cannot issue names under cilium.io.
Docs: https://docs.cilium.io/en/stable/observability/hubble/configuration/tls/

What the chart does with these values was read from the released chart archives 1.17.18, 1.18.12, 1.19.6 and
1.20.0 (cilium/charts, `cilium-<version>.tgz`) and checked with `helm template`; paths below are inside
`install/kubernetes/cilium/` of those archives.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, Field, model_validator

from .base import ComponentArgs, TLSComponent
from .certmanager import resources
from .certmanager.specs import CertificateSpec, IssuerRef, PrivateKeySpec
from .context import ClusterContext
from .helm import ChartRepository, chart_source, helm_release
from .inputs import Given
from .merge import deep_merge
from .model import (
    DnsLabel,
    DnsName,
    IPAddress,
    K8sName,
    PinnedVersion,
    ReleaseName,
    Spec,
    StackKey,
    StrictInt,
    repeated,
)
from .names import child_name
from .plan import ObjectClaim, certificate_claims
from .selfsigned_ca import CABundleRef, SelfSignedCAChain, SelfSignedCAChainArgs

# Cilium minors whose chart values schema this package is tested against (../shared/schemas/helm/cilium).
SCHEMA_VERSIONS = {"1.17": "1.17.18", "1.18": "1.18.12", "1.19": "1.19.6", "1.20": "1.20.0"}
# templates/validate.yaml (1.17.18 L138-150, 1.18.12-1.20.0 L151-163): the chart fails on any other cluster.name.
_CLUSTER_NAME = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$", re.ASCII)
# pkg/hubble/metrics/*/plugin.go: the handlers Hubble registers; options follow the name after ':'.
HUBBLE_METRICS = (
    "dns",
    "drop",
    "flow",
    "flows-to-world",
    "http",
    "httpV2",
    "icmp",
    "kafka",
    "policy",
    "port-distribution",
    "sctp",
    "tcp",
)
# The example list in the chart's values.yaml (`hubble.metrics.enabled`, whose own default is null = no server).
DEFAULT_METRICS = ("dns:query;ignoreAAAA", "drop", "tcp", "flow", "icmp", "http")
# The usages every template of templates/hubble/tls-certmanager/ renders (1.20.0 server-secret.yaml L46-50 etc.).
SERVER_AND_CLIENT = ["signing", "key encipherment", "server auth", "client auth"]
SERVER_ONLY = ["signing", "key encipherment", "server auth"]
CLIENT_ONLY = ["signing", "key encipherment", "client auth"]


def _cilium_version(value: str) -> str:
    minor = ".".join(value.lstrip("v").split(".")[:2])
    if minor not in SCHEMA_VERSIONS:
        raise ValueError(f"Cilium {minor} is not supported; supported minors: {', '.join(SCHEMA_VERSIONS)}")
    return value.lstrip("v")


def _cluster_name(value: str) -> str:
    if len(value) > 32 or not _CLUSTER_NAME.match(value):
        raise ValueError(
            "must be a Cilium cluster.name: at most 32 lowercase letters, digits and '-', starting and ending "
            "with a letter or digit, no dots (the chart's templates/validate.yaml refuses anything else)"
        )
    return value


def _hubble_metric(value: str) -> str:
    name, _, options = value.partition(":")
    if name not in HUBBLE_METRICS:
        raise ValueError(f"unknown Hubble metric {name!r}; known: {', '.join(HUBBLE_METRICS)}")
    if any(c.isspace() or c == "," for c in value):
        raise ValueError("a metric with options is written 'name:opt1;opt2=x' without spaces or commas")
    return value


CiliumVersion = Annotated[PinnedVersion, AfterValidator(_cilium_version)]
ClusterName = Annotated[str, AfterValidator(_cluster_name)]
HubbleMetric = Annotated[str, AfterValidator(_hubble_metric)]


def _dupes(names: list[str]) -> list[str]:
    return repeated(names)


class HubbleRelayTLS(Spec):
    enabled: bool | None = Field(
        default=None,
        description="hubble.relay.enabled. Unset: left as in your release (chart default off), unless serverTls or "
        "ui need the relay, which then switches it on.",
    )
    server_tls: bool = Field(default=False, description="Relay serves TLS to its clients (hubble CLI, UI).")
    server_mtls: bool = Field(default=False, description="Relay also requires client certificates.")
    ui: bool | None = Field(
        default=None,
        description="hubble.ui.enabled. Unset: left as in your release. With serverTls the UI gets a client cert.",
    )
    extra_dns_names: list[DnsName] = Field(default_factory=list)
    extra_ip_addresses: list[IPAddress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> HubbleRelayTLS:
        if (self.server_tls or self.ui) and self.enabled is False:
            raise ValueError("serverTls and ui need the relay: set enabled: true")
        if self.server_mtls and not self.server_tls:
            raise ValueError("serverMtls needs serverTls: true")
        return self

    @property
    def runs(self) -> bool:
        """Whether the relay runs with these values (unset: the chart default, off)."""
        return bool(self.enabled) or self.server_tls or bool(self.ui)


class MetricsScraperCertificate(Spec):
    """A client certificate for the metrics scraper (e.g. Prometheus), from the Hubble CA.

    Its Secret holds everything a scrape config needs: tls.crt/tls.key to authenticate, ca.crt to verify
    the server `<cluster>.hubble-metrics.cilium.io`.
    """

    namespace: DnsLabel = Field(default="monitoring", description="Namespace of the scraper.")
    secret_name: K8sName = Field(default="hubble-metrics-client-certs", description="Secret (and Certificate) name.")
    common_name: str = Field(default="hubble-metrics-scraper", min_length=1, max_length=64)


class HubbleMetricsTLS(Spec):
    enabled: bool = Field(default=False, description="Serve Hubble metrics over TLS (hubble.metrics.tls.enabled).")
    metrics: list[HubbleMetric] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        description="hubble.metrics.enabled: the metrics server starts only with a non-empty list "
        "(templates/cilium-configmap.yaml 1.20.0 L1076); default: the chart's documented example set.",
    )
    mtls: bool = Field(default=True, description="Require client certificates signed by the Hubble CA.")
    extra_dns_names: list[DnsName] = Field(default_factory=list)
    extra_ip_addresses: list[IPAddress] = Field(default_factory=list)
    scraper: MetricsScraperCertificate | None = Field(
        default=None, description="Issue a client certificate for a scraper."
    )
    service_monitor: bool = Field(
        default=False,
        description="hubble.metrics.serviceMonitor.enabled, with a tlsConfig that reads the CA and (with mTLS) the "
        "client key pair from the scraper's Secret, so the scrape works end to end. Needs `scraper` in the "
        "ServiceMonitor's namespace.",
    )

    @model_validator(mode="after")
    def _tls_needs_a_server(self) -> HubbleMetricsTLS:
        if self.scraper is not None and not self.enabled:
            raise ValueError("scraper needs metrics TLS: set enabled: true")
        if self.service_monitor and not self.enabled:
            raise ValueError("serviceMonitor here configures the TLS scrape: set enabled: true")
        if self.enabled and not self.metrics:
            raise ValueError(
                "metrics TLS with an empty metrics list does nothing: the chart starts the metrics server, its TLS "
                "volume and ServiceMonitor only when hubble.metrics.enabled lists metrics "
                "(templates/cilium-agent/daemonset.yaml 1.20.0 L1091); list the metrics to serve"
            )
        if _dupes(self.metrics):
            raise ValueError(f"metrics lists {_dupes(self.metrics)} twice")
        if self.service_monitor and self.scraper is None:
            raise ValueError("serviceMonitor needs scraper: its Secret carries the CA (and client key pair)")
        return self


class CiliumReleaseArgs(Spec):
    """Own the Cilium Helm release. Importing an existing one: `pulumi import` it first (see README)."""

    release_name: ReleaseName = Field(default="cilium", description="Helm release name.")
    repository: ChartRepository = Field(
        default="https://helm.cilium.io/", description="Chart repository or oci:// location."
    )
    values: dict[str, Any] = Field(default_factory=dict, description="Your other Cilium values; the TLS values win.")
    timeout_seconds: StrictInt = Field(default=900, ge=60, le=3600)
    phase: Literal["tls", "bootstrap"] = Field(
        default="tls",
        description="bootstrap: install Cilium without Hubble TLS and without waiting for cert-manager, for a "
        "cluster with no CNI yet (cert-manager's pods need one); then set tls and run `pulumi up` again.",
    )


def _get(values: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(values, dict):
            return None
        values = values.get(part)
    return values


class HubbleTLSArgs(ComponentArgs):
    """Hubble mTLS through cert-manager. Seed 001: Cilium 1.17.6, validity 1095 days, ClusterIssuer my-ca-issuer."""

    cilium_version: CiliumVersion = Field(description="Cilium chart version, e.g. 1.17.6 (selects the values layout).")
    namespace: DnsLabel = Field(
        default="kube-system", description="Cilium's namespace; the chart's Certificates live there."
    )
    cluster_name: ClusterName = Field(
        default="default",
        description="Cilium cluster.name, which the server names derive from. Values-only mode does not set it: "
        "it must be your release's cluster.name.",
    )
    cert_validity_days: StrictInt = Field(
        default=1095, ge=1, le=36500, description="hubble.tls.auto.certValidityDuration (days)."
    )
    issuer: Given[IssuerRef] | None = Field(
        default=None, description="An existing CA issuer; unset builds a SelfSignedCAChain."
    )
    issuer_from: StackKey | None = Field(
        default=None, description="In a stack: take the issuer of this component (e.g. privateCa)."
    )
    ca: SelfSignedCAChainArgs | None = Field(
        default=None, description="Settings of the CA chain built when `issuer` is unset."
    )
    private_key: PrivateKeySpec | None = Field(
        default=None, description="Not offered: the chart overrides it (see the error it gives)."
    )
    server_extra_dns_names: list[DnsName] = Field(default_factory=list)
    server_extra_ip_addresses: list[IPAddress] = Field(default_factory=list)
    relay: HubbleRelayTLS = Field(default_factory=HubbleRelayTLS)
    metrics: HubbleMetricsTLS = Field(default_factory=HubbleMetricsTLS)
    release: CiliumReleaseArgs | None = Field(
        default=None, description="Own the Cilium release; unset only outputs values."
    )

    @model_validator(mode="after")
    def _one_ca_that_all_peers_share(self) -> HubbleTLSArgs:
        if self.private_key is not None:
            raise ValueError(
                "privateKey cannot be delivered: the 1.20 chart renders hubble.tls.auto.privateKey and then its own "
                "`privateKey: {rotationPolicy: Always}` into the same Certificate mapping "
                "(templates/hubble/tls-certmanager/server-secret.yaml L25-28 and L43-44, likewise in every "
                "tls-certmanager template), so the last key wins and cert-manager never sees the requested key; "
                "older charts ignore it. Remove privateKey"
            )
        if sum(x is not None for x in (self.issuer, self.ca, self.issuer_from)) > 1:
            raise ValueError("set one of issuer (an existing CA issuer), issuerFrom (a stack's) or ca (build one)")
        if self.issuer is not None:
            if self.issuer.issuer_type == "selfSigned":
                raise ValueError(
                    f"issuer {self.issuer.name!r} is selfSigned: every Hubble certificate would get its own root "
                    "and relay fails with 'x509: certificate signed by unknown authority'; use a CA issuer "
                    "(leave issuer unset to build one)"
                )
            if self.issuer.issuer_type == "acme":
                raise ValueError(
                    f"issuer {self.issuer.name!r} is ACME: it cannot issue "
                    f"*.{self.cluster_name}.hubble-grpc.cilium.io "
                    "(cilium.io is not your domain) and its peers would not share a private CA; use a CA issuer"
                )
            if not self.issuer.usable_from(self.namespace):
                raise ValueError(
                    f"issuer is Issuer {self.issuer.namespace}/{self.issuer.name}, but the chart creates its "
                    f"Certificates in {self.namespace!r}: use a ClusterIssuer or an Issuer in {self.namespace!r}"
                )
        scraper = self.metrics.scraper
        if scraper is not None and self.issuer is not None and not self.issuer.usable_from(scraper.namespace):
            raise ValueError(
                f"metrics.scraper.namespace {scraper.namespace!r}: Issuer {self.issuer.namespace}/{self.issuer.name} "
                "only signs in its own namespace; use a ClusterIssuer"
            )
        if (
            scraper is not None
            and self.ca is not None
            and self.ca.scope == "namespaced"
            and scraper.namespace != self.namespace
        ):
            raise ValueError(
                f"metrics.scraper.namespace {scraper.namespace!r}: a namespaced CA only signs in {self.namespace!r}; "
                "use ca.scope: cluster"
            )
        if self.ca is not None and self.ca.scope == "namespaced" and self.ca.namespace != self.namespace:
            raise ValueError(
                f"ca.namespace {self.ca.namespace!r}: a namespaced CA issuer must be in Cilium's namespace "
                f"{self.namespace!r}, where the chart creates its Certificates"
            )
        self._no_duplicate_names()
        self._service_monitor_reads_the_scraper_secret()
        if self.release is not None:
            self._owned_values_agree(self.release.values)
        return self

    def _no_duplicate_names(self) -> None:
        """The chart puts each certificate's common name first in dnsNames, then the extras: no repeats."""
        lists = {
            "serverExtraDnsNames": ([f"*.{self.cluster_name}.hubble-grpc.cilium.io"], self.server_extra_dns_names),
            "serverExtraIpAddresses": ([], self.server_extra_ip_addresses),
            "relay.extraDnsNames": (["*.hubble-relay.cilium.io"], self.relay.extra_dns_names),
            "relay.extraIpAddresses": ([], self.relay.extra_ip_addresses),
            "metrics.extraDnsNames": ([f"{self.cluster_name}.hubble-metrics.cilium.io"], self.metrics.extra_dns_names),
            "metrics.extraIpAddresses": ([], self.metrics.extra_ip_addresses),
        }
        for field, (given, extras) in lists.items():
            dupes = _dupes([*given, *extras])
            if dupes:
                raise ValueError(f"{field} lists {dupes} twice (the chart already puts {given or 'nothing'} first)")

    def service_monitor_namespace(self) -> str:
        # templates/hubble/servicemonitor.yaml L6: prometheus.serviceMonitor.namespace, else Cilium's namespace.
        owned = _get(self.release.values, "prometheus.serviceMonitor.namespace") if self.release else None
        return owned or self.namespace

    def _service_monitor_reads_the_scraper_secret(self) -> None:
        scraper = self.metrics.scraper
        if self.metrics.service_monitor and scraper is not None:
            where = self.service_monitor_namespace()
            if scraper.namespace != where:
                raise ValueError(
                    f"metrics.scraper.namespace {scraper.namespace!r}: the ServiceMonitor lives in {where!r} "
                    "(templates/hubble/servicemonitor.yaml L6) and Prometheus Operator reads its tlsConfig Secrets "
                    f"from there; put the scraper certificate in {where!r}"
                )

    def _owned_values_agree(self, values: dict[str, Any]) -> None:
        """Your release values must not contradict what the TLS values assume."""
        chosen = _get(values, "cluster.name")
        if chosen is not None and chosen != self.cluster_name:
            raise ValueError(
                f"release.values cluster.name {chosen!r} differs from clusterName {self.cluster_name!r}: "
                "Hubble server names derive from it"
            )
        if self.cluster_name == "default" and _get(values, "cluster.id") not in (None, 0):
            raise ValueError(
                "release.values cluster.id is not 0 with cluster.name 'default': the chart refuses that "
                "(templates/validate.yaml); set clusterName"
            )
        override = values.get("namespaceOverride")
        if override and override != self.namespace:
            raise ValueError(
                f"release.values namespaceOverride {override!r}: the chart then creates its Certificates there "
                f"(templates/_helpers.tpl cilium.namespace), not in namespace {self.namespace!r}; set namespace instead"
            )
        if self.metrics.enabled and self.metrics.mtls and _get(values, "tls.caBundle.enabled"):
            raise ValueError(
                "release.values tls.caBundle.enabled: with it the chart verifies metrics clients against the CA bundle "
                "instead of the Hubble CA (templates/cilium-agent/daemonset.yaml 1.20.0 L1113-1121), so a scraper "
                "certificate from the Hubble CA is refused; switch the bundle off or metrics.mtls off"
            )
        if self.metrics.enabled and _get(values, "hubble.metrics.tls.server.existingSecret"):
            raise ValueError(
                "release.values hubble.metrics.tls.server.existingSecret: the agent would serve that Secret, not the "
                "certificate cert-manager issues here (templates/cilium-agent/daemonset.yaml 1.20.0 L1098)"
            )
        if self.metrics.enabled and _get(values, "hubble.metrics.enabled") not in (None, list(self.metrics.metrics)):
            raise ValueError(
                "release.values hubble.metrics.enabled: with metrics TLS the list is metrics.metrics; set it there"
            )

    def links(self) -> list[tuple[str, str, str]]:
        return [("issuer_from", "issuer", "issuer")]

    def uses(self) -> list[tuple[str, str | None, str]]:
        return [self.issuer.key()] if self.issuer is not None else []

    def ca_chain_args(self) -> SelfSignedCAChainArgs:
        return self.ca or SelfSignedCAChainArgs(scope="cluster", ca_common_name=f"{self.cluster_name} Hubble CA")

    @property
    def bootstrap(self) -> bool:
        return self.release is not None and self.release.phase == "bootstrap"

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        claims: list[ObjectClaim] = []
        issuer = self.issuer
        if issuer is None:
            chain = self.ca_chain_args()
            chain_name = child_name(name, "ca")
            claims += chain.claims(chain_name, context)
            issuer = chain.ca_issuer_ref(chain_name)
        for cert in chart_certificates(self, issuer):
            meta = cert["metadata"]
            claims += certificate_claims(
                meta["namespace"], meta["name"], cert["spec"]["secretName"], f"the Cilium chart (HubbleTLS {name!r})"
            )
        scraper = self.metrics.scraper
        if scraper is not None and not self.bootstrap:
            claims += certificate_claims(
                scraper.namespace, scraper.secret_name, scraper.secret_name, f"HubbleTLS {name!r} (metrics scraper)"
            )
        return claims

    @property
    def schema_version(self) -> str:
        return SCHEMA_VERSIONS[".".join(self.cilium_version.split(".")[:2])]

    def _relay_and_ui_values(self) -> dict[str, Any]:
        """Only what the user asked for: values merged with `--reuse-values` must not switch off a running UI."""
        hubble: dict[str, Any] = {}
        relay: dict[str, Any] = {}
        if self.relay.enabled is not None or self.relay.runs:
            relay["enabled"] = self.relay.runs
        if self.relay.server_tls:
            relay["tls"] = {
                "server": {
                    "enabled": True,
                    "mtls": self.relay.server_mtls,
                    "extraDnsNames": list(self.relay.extra_dns_names),
                    "extraIpAddresses": list(self.relay.extra_ip_addresses),
                }
            }
        if relay:
            hubble["relay"] = relay
        if self.relay.ui is not None:
            hubble["ui"] = {"enabled": self.relay.ui}
        return hubble

    def helm_values(self, issuer: IssuerRef) -> dict[str, Any]:
        if self.bootstrap:
            # Phase one on a cluster without a CNI: Hubble without TLS, so nothing waits for cert-manager.
            return {"hubble": {"enabled": True, "tls": {"enabled": False}, **self._relay_and_ui_values()}}
        auto: dict[str, Any] = {
            "enabled": True,
            "method": "certmanager",
            "certValidityDuration": self.cert_validity_days,
            "certManagerIssuerRef": issuer.manifest(),
        }
        tls: dict[str, Any] = {"enabled": True, "auto": auto}
        if self.server_extra_dns_names or self.server_extra_ip_addresses:
            tls["server"] = {
                "extraDnsNames": list(self.server_extra_dns_names),
                "extraIpAddresses": list(self.server_extra_ip_addresses),
            }
        hubble: dict[str, Any] = {"enabled": True, "tls": tls, **self._relay_and_ui_values()}
        if self.metrics.enabled:
            hubble["metrics"] = self._metrics_values()
        return {"hubble": hubble}

    def _metrics_values(self) -> dict[str, Any]:
        # `mtls.name` stays unset (typed null in the 1.17-1.20 schemas; seed 001 hit this on 1.17.6): the chart
        # then verifies clients against ca.crt of hubble-metrics-server-certs, the Hubble CA
        # (templates/cilium-agent/daemonset.yaml 1.20.0 L1105-1114).
        metrics: dict[str, Any] = {
            "enabled": list(self.metrics.metrics),
            "tls": {
                "enabled": True,
                "server": {
                    "extraDnsNames": list(self.metrics.extra_dns_names),
                    "extraIpAddresses": list(self.metrics.extra_ip_addresses),
                    "mtls": {"enabled": self.metrics.mtls},
                },
            },
        }
        scraper = self.metrics.scraper
        if self.metrics.service_monitor and scraper is not None:
            # Prometheus Operator SafeTLSConfig; the chart merges `serverName` and `scheme: https` into it
            # (templates/hubble/servicemonitor.yaml L42-46).
            secret = scraper.secret_name
            tls_config: dict[str, Any] = {"ca": {"secret": {"name": secret, "key": "ca.crt"}}}
            if self.metrics.mtls:
                tls_config["cert"] = {"secret": {"name": secret, "key": "tls.crt"}}
                tls_config["keySecret"] = {"name": secret, "key": "tls.key"}
            metrics["serviceMonitor"] = {"enabled": True, "tlsConfig": tls_config}
        return metrics


def values_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys a values document sets (`hubble.tls.auto.method`), for the output that says so."""
    keys = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path.count(".") < 3:
            keys += values_keys(value, path + ".")
        else:
            keys.append(path)
    return sorted(keys)


def chart_certificates(args: HubbleTLSArgs, issuer: IssuerRef) -> list[dict[str, Any]]:
    """The Certificates the Cilium chart creates for these values, exactly as its templates render them.

    templates/hubble/tls-certmanager/*.yaml (identical in 1.17.18, 1.18.12, 1.19.6 and 1.20.0 but for the
    1.20 `subject`/`privateKey` blocks, which this package does not set): every one has `duration:
    <days*24>h0m0s`, `privateKey: {rotationPolicy: Always}`, `isCA: false` and the usages of its role
    (server-secret.yaml L42-50, relay-client-secret.yaml L31-38, relay-server-secret.yaml L40-47,
    ui-client-certs.yaml L31-38, metrics-server-secret.yaml L42-49, 1.20.0 line numbers). Each template's
    first line gives the condition it is rendered under.
    """
    if args.bootstrap:
        return []
    duration = f"{args.cert_validity_days * 24}h0m0s"

    def certificate(
        name: str, common_name: str, extra_dns: list[str], extra_ips: list[str], usages: list[str]
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "issuerRef": issuer.manifest(),
            "secretName": name,
            "commonName": common_name,
            "dnsNames": [common_name, *extra_dns],
        }
        if extra_ips:
            spec["ipAddresses"] = list(extra_ips)
        spec.update(
            {"duration": duration, "privateKey": {"rotationPolicy": "Always"}, "isCA": False, "usages": list(usages)}
        )
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name, "namespace": args.namespace},
            "spec": spec,
        }

    cluster = args.cluster_name
    relay = args.relay
    certs = [
        certificate(
            "hubble-server-certs",
            f"*.{cluster}.hubble-grpc.cilium.io",
            args.server_extra_dns_names,
            args.server_extra_ip_addresses,
            SERVER_AND_CLIENT,
        )
    ]
    if relay.runs:
        certs.append(certificate("hubble-relay-client-certs", "*.hubble-relay.cilium.io", [], [], CLIENT_ONLY))
    if relay.runs and relay.server_tls:
        certs.append(
            certificate(
                "hubble-relay-server-certs",
                "*.hubble-relay.cilium.io",
                relay.extra_dns_names,
                relay.extra_ip_addresses,
                SERVER_ONLY,
            )
        )
        if relay.ui:
            certs.append(certificate("hubble-ui-client-certs", "*.hubble-ui.cilium.io", [], [], CLIENT_ONLY))
    if args.metrics.enabled:
        certs.append(
            certificate(
                "hubble-metrics-server-certs",
                f"{cluster}.hubble-metrics.cilium.io",
                args.metrics.extra_dns_names,
                args.metrics.extra_ip_addresses,
                SERVER_ONLY,
            )
        )
    return certs


FRESH_CLUSTER_WARNING = (
    "HubbleTLS {name!r} owns the Cilium release and it waits for cert-manager: on a cluster with no CNI yet "
    "cert-manager's pods cannot start, so this cannot converge. Install with release.phase: bootstrap first "
    "(Cilium without Hubble TLS), then phase: tls."
)


class HubbleTLS(TLSComponent):
    """Hubble mTLS issued by cert-manager.

    Creates: unless `issuer` is given, a cluster-scoped SelfSignedCAChain `<name>-ca` (child component);
    with `release`, the Cilium Helm release `<name>-cilium` with the TLS values merged over yours;
    with `metrics.scraper`, Certificate `<name>-metrics-scraper-certificate`.
    Outputs:
    - `helm_values`: the values to merge into your Cilium release, and `values_keys`: the keys they set;
    - `cluster_name`: the cluster.name the server names assume (values-only mode does not set it);
    - `issuer`: {name, kind, group};
    - `ca_secret_name`, `ca_secret_namespace`, `ca_key`: where clients find the CA;
    - `server_name_pattern`: `*.<cluster>.hubble-grpc.cilium.io`;
    - `secret_names`: the Secrets the chart creates in `namespace`;
    - `metrics_server_name`: `<cluster>.hubble-metrics.cilium.io` when metrics TLS is on;
    - `metrics_client_secret`: {name, namespace} of the scraper's client certificate, when requested;
    - `phase`: `tls`, `bootstrap` (owned release without TLS yet) or `values` (values only).
    """

    helm_values: pulumi.Output[dict[str, Any]]
    values_keys: pulumi.Output[list[str]]
    cluster_name: pulumi.Output[str]
    issuer: pulumi.Output[dict[str, Any]]
    ca_secret_name: pulumi.Output[str]
    ca_secret_namespace: pulumi.Output[str]
    ca_key: pulumi.Output[str]
    server_name_pattern: pulumi.Output[str]
    secret_names: pulumi.Output[list[str]]
    metrics_server_name: pulumi.Output[str | None]
    metrics_client_secret: pulumi.Output[dict[str, Any] | None]
    phase: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: HubbleTLSArgs | dict,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: ClusterContext | None = None,
    ):
        args = HubbleTLSArgs.coerce(args)
        super().__init__(name, opts, args=args, context=context)
        chain: SelfSignedCAChain | None = None
        if args.issuer is None:
            chain = SelfSignedCAChain(
                child_name(name, "ca"), args.ca_chain_args(), self.child_opts(), context=self.context
            )
            issuer_ref, ca_bundle = chain.issuer_ref, chain.ca_bundle
        else:
            issuer_ref = args.issuer
            # A `ca` issuer writes its CA certificate as ca.crt into every Secret it issues.
            ca_bundle = CABundleRef(secret_name="hubble-server-certs", namespace=args.namespace)

        self.issuer_ref = issuer_ref
        self.ca_bundle = ca_bundle
        self.certificates = chart_certificates(args, issuer_ref)
        values = args.helm_values(issuer_ref)
        self.release = None
        if args.release is not None:
            merged = deep_merge(args.release.values, {"cluster": {"name": args.cluster_name}, **values})
            # Bootstrap: nothing to wait for, so Cilium can come up before cert-manager has a network.
            release_opts = pulumi.ResourceOptions(parent=self) if args.bootstrap else self.child_opts(chain)
            if not args.bootstrap:
                pulumi.log.warn(FRESH_CLUSTER_WARNING.format(name=name), resource=self)
            repository, ca_file = chart_source(args.release, self.context.chart_mirror)
            self.release = helm_release(
                child_name(name, "cilium"),
                name=args.release.release_name,
                chart="cilium",
                version=args.cilium_version,
                namespace=args.namespace,
                repository=repository,
                ca_file=ca_file,
                values=merged,
                timeout_seconds=args.release.timeout_seconds,
                opts=release_opts,
            )

        self.scraper_certificate = None
        scraper = args.metrics.scraper
        if scraper is not None and not args.bootstrap:
            self.scraper_certificate = resources.certificate(
                child_name(name, "metrics-scraper-certificate"),
                name=scraper.secret_name,
                namespace=scraper.namespace,
                spec=CertificateSpec(
                    secret_name=scraper.secret_name,
                    issuer_ref=issuer_ref,
                    common_name=scraper.common_name,
                    duration=f"{args.cert_validity_days * 24}h",
                    usages=["digital signature", "key encipherment", "client auth"],
                ),
                wait_ready=True,
                opts=self.child_opts(chain),
            )

        # Values and issuer carry a dependency on the CA issuer, so a release that consumes them waits for it.
        anchor = chain.issuer if chain is not None else pulumi.Output.from_input(issuer_ref.manifest())
        self.helm_values = anchor.apply(lambda _: values)
        self.values_keys = pulumi.Output.from_input(values_keys(values))
        self.cluster_name = pulumi.Output.from_input(args.cluster_name)
        self.issuer = anchor.apply(lambda _: issuer_ref.manifest())
        self.ca_secret_name = anchor.apply(lambda _: ca_bundle.secret_name)
        self.ca_secret_namespace = anchor.apply(lambda _: ca_bundle.namespace)
        self.ca_key = pulumi.Output.from_input(ca_bundle.key)
        self.server_name_pattern = pulumi.Output.from_input(f"*.{args.cluster_name}.hubble-grpc.cilium.io")
        self.secret_names = pulumi.Output.from_input([c["metadata"]["name"] for c in self.certificates])
        self.metrics_server_name = pulumi.Output.from_input(
            f"{args.cluster_name}.hubble-metrics.cilium.io" if args.metrics.enabled and not args.bootstrap else None
        )
        self.metrics_client_secret = (
            self.scraper_certificate.spec.apply(
                lambda spec: {"name": spec["secretName"], "namespace": scraper.namespace}
            )
            if self.scraper_certificate is not None
            else pulumi.Output.from_input(None)
        )
        phase = args.release.phase if args.release is not None else "values"
        self.phase = pulumi.Output.from_input(phase)
        self.register_outputs(
            {
                "helm_values": self.helm_values,
                "values_keys": self.values_keys,
                "cluster_name": self.cluster_name,
                "issuer": self.issuer,
                "ca_secret_name": self.ca_secret_name,
                "ca_secret_namespace": self.ca_secret_namespace,
                "ca_key": self.ca_key,
                "server_name_pattern": self.server_name_pattern,
                "secret_names": self.secret_names,
                "metrics_server_name": self.metrics_server_name,
                "metrics_client_secret": self.metrics_client_secret,
                "phase": self.phase,
                # What the chart will create (checked by the preflight rules, listed for reviewers).
                "chart_certificates": pulumi.Output.from_input(self.certificates),
            },
            known={
                "issuer": issuer_ref,
                "cluster_name": args.cluster_name,
                "ca_secret_name": ca_bundle.secret_name,
                "ca_secret_namespace": ca_bundle.namespace,
                "ca_key": ca_bundle.key,
                "server_name_pattern": f"*.{args.cluster_name}.hubble-grpc.cilium.io",
            },
        )
