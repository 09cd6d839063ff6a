"""HubbleTLS: Cilium Hubble's mutual TLS, issued by cert-manager from one private CA.

With `hubble.tls.auto.method=certmanager` the Cilium chart creates a cert-manager Certificate per Hubble
peer role, each with `issuerRef` = `hubble.tls.auto.certManagerIssuerRef`. Every peer must chain to the
same CA: a selfSigned issuer gives each certificate its own root (relay fails with "x509: certificate signed
by unknown authority", seed 001, cilium#30941), and ACME cannot issue names under cilium.io.
Docs: https://docs.cilium.io/en/stable/observability/hubble/configuration/tls/
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, Field, model_validator

from .base import ComponentArgs, TLSComponent
from .certmanager import resources
from .certmanager.specs import CertificateSpec, IssuerRef, PrivateKeySpec
from .context import ClusterContext
from .helm import ChartRepository, helm_release
from .merge import deep_merge
from .model import DnsLabel, DnsName, IPAddress, K8sName, PinnedVersion, ReleaseName, Spec, StrictInt, version_tuple
from .names import child_name
from .plan import ObjectClaim, certificate_claims
from .selfsigned_ca import CABundleRef, SelfSignedCAChain, SelfSignedCAChainArgs

# Cilium minors whose chart values schema this package is tested against (../shared/schemas/helm/cilium).
SCHEMA_VERSIONS = {"1.17": "1.17.18", "1.18": "1.18.12", "1.19": "1.19.6", "1.20": "1.20.0"}
_CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?$")


def _cilium_version(value: str) -> str:
    minor = ".".join(value.lstrip("v").split(".")[:2])
    if minor not in SCHEMA_VERSIONS:
        raise ValueError(f"Cilium {minor} is not supported; supported minors: {', '.join(SCHEMA_VERSIONS)}")
    return value.lstrip("v")


def _cluster_name(value: str) -> str:
    if not _CLUSTER_NAME.match(value):
        raise ValueError(
            "must be Cilium's cluster.name: at most 32 lowercase letters, digits, '-' or '.', "
            "starting and ending with a letter or digit"
        )
    return value


CiliumVersion = Annotated[PinnedVersion, AfterValidator(_cilium_version)]
ClusterName = Annotated[str, AfterValidator(_cluster_name)]


class HubbleRelayTLS(Spec):
    enabled: bool = Field(True, description="hubble.relay.enabled: Relay, and with it the relay client certificate.")
    server_tls: bool = Field(False, description="Relay serves TLS to its clients (hubble CLI, UI).")
    server_mtls: bool = Field(False, description="Relay also requires client certificates.")
    ui: bool = Field(False, description="hubble.ui.enabled; with server TLS the UI gets a client certificate.")
    extra_dns_names: list[DnsName] = Field(default_factory=list)
    extra_ip_addresses: list[IPAddress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> HubbleRelayTLS:
        if (self.server_tls or self.ui) and not self.enabled:
            raise ValueError("serverTls and ui need the relay: set enabled: true")
        if self.server_mtls and not self.server_tls:
            raise ValueError("serverMtls needs serverTls: true")
        return self


class MetricsScraperCertificate(Spec):
    """A client certificate for the metrics scraper (e.g. Prometheus), from the Hubble CA.

    Its Secret holds everything a scrape config needs: tls.crt/tls.key to authenticate, ca.crt to verify
    the server `<cluster>.hubble-metrics.cilium.io`.
    """

    namespace: DnsLabel = Field("monitoring", description="Namespace of the scraper.")
    secret_name: K8sName = Field("hubble-metrics-client-certs", description="Secret (and Certificate) name.")
    common_name: str = Field("hubble-metrics-scraper", min_length=1, max_length=64)


class HubbleMetricsTLS(Spec):
    enabled: bool = Field(False, description="Serve Hubble metrics over TLS (hubble.metrics.tls.enabled).")
    mtls: bool = Field(True, description="Require client certificates signed by the Hubble CA.")
    extra_dns_names: list[DnsName] = Field(default_factory=list)
    extra_ip_addresses: list[IPAddress] = Field(default_factory=list)
    scraper: MetricsScraperCertificate | None = Field(None, description="Issue a client certificate for a scraper.")

    @model_validator(mode="after")
    def _scraper_needs_tls(self) -> HubbleMetricsTLS:
        if self.scraper is not None and not self.enabled:
            raise ValueError("scraper needs metrics TLS: set enabled: true")
        return self


class CiliumReleaseArgs(Spec):
    """Own the Cilium Helm release. Importing an existing one: `pulumi import` it first (see README)."""

    release_name: ReleaseName = Field("cilium", description="Helm release name.")
    repository: ChartRepository = Field("https://helm.cilium.io/", description="Chart repository or oci:// location.")
    values: dict[str, Any] = Field(default_factory=dict, description="Your other Cilium values; the TLS values win.")
    timeout_seconds: StrictInt = Field(900, ge=60, le=3600)


class HubbleTLSArgs(ComponentArgs):
    """Hubble mTLS through cert-manager. Seed 001: Cilium 1.17.6, validity 1095 days, ClusterIssuer my-ca-issuer."""

    cilium_version: CiliumVersion = Field(description="Cilium chart version, e.g. 1.17.6 (selects the values layout).")
    namespace: DnsLabel = Field("kube-system", description="Cilium's namespace; the chart's Certificates live there.")
    cluster_name: ClusterName = Field("default", description="Cilium cluster.name; server names derive from it.")
    cert_validity_days: StrictInt = Field(
        1095, ge=1, le=36500, description="hubble.tls.auto.certValidityDuration (days)."
    )
    issuer: IssuerRef | None = Field(None, description="An existing CA issuer; unset builds a SelfSignedCAChain.")
    ca: SelfSignedCAChainArgs | None = Field(None, description="Settings of the CA chain built when `issuer` is unset.")
    private_key: PrivateKeySpec | None = Field(None, description="Key of the Hubble certificates (Cilium >= 1.20).")
    server_extra_dns_names: list[DnsName] = Field(default_factory=list)
    server_extra_ip_addresses: list[IPAddress] = Field(default_factory=list)
    relay: HubbleRelayTLS = Field(default_factory=HubbleRelayTLS)
    metrics: HubbleMetricsTLS = Field(default_factory=HubbleMetricsTLS)
    release: CiliumReleaseArgs | None = Field(None, description="Own the Cilium release; unset only outputs values.")

    @model_validator(mode="after")
    def _one_ca_that_all_peers_share(self) -> HubbleTLSArgs:
        if self.issuer is not None and self.ca is not None:
            raise ValueError("set either issuer (an existing CA issuer) or ca (build one), not both")
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
                    f"*.{self.cluster_label}.hubble-grpc.cilium.io "
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
        if self.private_key is not None and version_tuple(self.cilium_version) < (1, 20, 0):
            raise ValueError(f"privateKey needs Cilium >= 1.20 (hubble.tls.auto.privateKey), got {self.cilium_version}")
        if self.release is not None:
            chosen = (self.release.values.get("cluster") or {}).get("name", self.cluster_name)
            if chosen != self.cluster_name:
                raise ValueError(
                    f"release.values cluster.name {chosen!r} differs from clusterName {self.cluster_name!r}: "
                    "Hubble server names derive from it"
                )
        return self

    def _no_duplicate_names(self) -> None:
        """The chart puts each certificate's common name first in dnsNames, then the extras: no repeats."""
        label = self.cluster_label
        lists = {
            "serverExtraDnsNames": ([f"*.{label}.hubble-grpc.cilium.io"], self.server_extra_dns_names),
            "serverExtraIpAddresses": ([], self.server_extra_ip_addresses),
            "relay.extraDnsNames": (["*.hubble-relay.cilium.io"], self.relay.extra_dns_names),
            "relay.extraIpAddresses": ([], self.relay.extra_ip_addresses),
            "metrics.extraDnsNames": ([f"{label}.hubble-metrics.cilium.io"], self.metrics.extra_dns_names),
            "metrics.extraIpAddresses": ([], self.metrics.extra_ip_addresses),
        }
        for field, (given, extras) in lists.items():
            names = [*given, *extras]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{field} lists {dupes} twice (the chart already puts {given or 'nothing'} first)")

    def uses(self) -> list[tuple[str, str | None, str]]:
        if self.issuer is None:
            return []
        return [(self.issuer.kind, self.issuer.namespace if self.issuer.kind == "Issuer" else None, self.issuer.name)]

    def ca_chain_args(self) -> SelfSignedCAChainArgs:
        return self.ca or SelfSignedCAChainArgs(scope="cluster", ca_common_name=f"{self.cluster_name} Hubble CA")

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        claims: list[ObjectClaim] = []
        issuer = self.issuer
        if issuer is None:
            chain = self.ca_chain_args()
            chain_name = child_name(name, "ca")
            claims += chain.claims(chain_name, context)
            issuer = IssuerRef(name=chain.names(chain_name)["ca_issuer"], kind=chain.issuer_kind, type="ca")
        for cert in chart_certificates(self, issuer):
            meta = cert["metadata"]
            claims += certificate_claims(
                meta["namespace"], meta["name"], cert["spec"]["secretName"], f"the Cilium chart (HubbleTLS {name!r})"
            )
        scraper = self.metrics.scraper
        if scraper is not None:
            claims += certificate_claims(
                scraper.namespace, scraper.secret_name, scraper.secret_name, f"HubbleTLS {name!r} (metrics scraper)"
            )
        return claims

    @property
    def cluster_label(self) -> str:
        return self.cluster_name.replace(".", "-")

    @property
    def schema_version(self) -> str:
        return SCHEMA_VERSIONS[".".join(self.cilium_version.split(".")[:2])]

    def helm_values(self, issuer: IssuerRef) -> dict[str, Any]:
        auto: dict[str, Any] = {
            "enabled": True,
            "method": "certmanager",
            "certValidityDuration": self.cert_validity_days,
            "certManagerIssuerRef": issuer.manifest(),
        }
        if self.private_key is not None:
            auto["privateKey"] = self.private_key.manifest()
        tls: dict[str, Any] = {"enabled": True, "auto": auto}
        if self.server_extra_dns_names or self.server_extra_ip_addresses:
            tls["server"] = {
                "extraDnsNames": list(self.server_extra_dns_names),
                "extraIpAddresses": list(self.server_extra_ip_addresses),
            }
        relay: dict[str, Any] = {"enabled": self.relay.enabled}
        if self.relay.server_tls:
            relay["tls"] = {
                "server": {
                    "enabled": True,
                    "mtls": self.relay.server_mtls,
                    "extraDnsNames": list(self.relay.extra_dns_names),
                    "extraIpAddresses": list(self.relay.extra_ip_addresses),
                }
            }
        hubble: dict[str, Any] = {"enabled": True, "tls": tls, "relay": relay, "ui": {"enabled": self.relay.ui}}
        if self.metrics.enabled:
            # `mtls.name` is typed null in the 1.17-1.20 schemas (seed 001 hit this on 1.17.6), so it stays
            # unset: the chart then verifies clients against the CA of hubble-metrics-server-certs, our CA.
            hubble["metrics"] = {
                "tls": {
                    "enabled": True,
                    "server": {
                        "extraDnsNames": list(self.metrics.extra_dns_names),
                        "extraIpAddresses": list(self.metrics.extra_ip_addresses),
                        "mtls": {"enabled": self.metrics.mtls},
                    },
                }
            }
        return {"hubble": hubble}


def chart_certificates(args: HubbleTLSArgs, issuer: IssuerRef) -> list[dict[str, Any]]:
    """The Certificates the Cilium chart creates for these values.

    Mirrors install/kubernetes/cilium/templates/hubble/tls-certmanager/*.yaml (server, relay client and
    server, UI client, metrics server), so that clients and tests know the exact names and SANs.
    """
    duration = f"{args.cert_validity_days * 24}h0m0s"

    def certificate(name: str, common_name: str, extra_dns: list[str], extra_ips: list[str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "issuerRef": issuer.manifest(),
            "secretName": name,
            "commonName": common_name,
            "dnsNames": [common_name, *extra_dns],
            "duration": duration,
        }
        if extra_ips:
            spec["ipAddresses"] = list(extra_ips)
        if args.private_key is not None:
            spec["privateKey"] = args.private_key.manifest()
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name, "namespace": args.namespace},
            "spec": spec,
        }

    certs = [
        certificate(
            "hubble-server-certs",
            f"*.{args.cluster_label}.hubble-grpc.cilium.io",
            args.server_extra_dns_names,
            args.server_extra_ip_addresses,
        )
    ]
    if args.relay.enabled:
        certs.append(certificate("hubble-relay-client-certs", "*.hubble-relay.cilium.io", [], []))
    if args.relay.server_tls:
        certs.append(
            certificate(
                "hubble-relay-server-certs",
                "*.hubble-relay.cilium.io",
                args.relay.extra_dns_names,
                args.relay.extra_ip_addresses,
            )
        )
        if args.relay.ui:
            certs.append(certificate("hubble-ui-client-certs", "*.hubble-ui.cilium.io", [], []))
    if args.metrics.enabled:
        metrics = certificate(
            "hubble-metrics-server-certs",
            f"{args.cluster_label}.hubble-metrics.cilium.io",
            args.metrics.extra_dns_names,
            args.metrics.extra_ip_addresses,
        )
        metrics["spec"].setdefault("privateKey", {})["rotationPolicy"] = "Always"
        certs.append(metrics)
    return certs


class HubbleTLS(TLSComponent):
    """Hubble mTLS issued by cert-manager.

    Creates: unless `issuer` is given, a cluster-scoped SelfSignedCAChain `<name>-ca` (child component);
    with `release`, the Cilium Helm release `<name>-cilium` with the TLS values merged over yours.
    Outputs:
    - `helm_values`: the TLS values to merge into your Cilium release;
    - `issuer`: {name, kind, group};
    - `ca_secret_name`, `ca_secret_namespace`, `ca_key`: where clients find the CA;
    - `server_name_pattern`: `*.<cluster>.hubble-grpc.cilium.io`;
    - `secret_names`: the Secrets the chart creates in `namespace`;
    - `metrics_server_name`: `<cluster>.hubble-metrics.cilium.io` when metrics TLS is on;
    - `metrics_client_secret`: {name, namespace} of the scraper's client certificate, when requested.
    Also creates, with `metrics.scraper`, Certificate `<name>-metrics-scraper-certificate`.
    """

    helm_values: pulumi.Output[dict]
    issuer: pulumi.Output[dict]
    ca_secret_name: pulumi.Output[str]
    ca_secret_namespace: pulumi.Output[str]
    ca_key: pulumi.Output[str]
    server_name_pattern: pulumi.Output[str]
    secret_names: pulumi.Output[list]
    metrics_server_name: pulumi.Output[str | None]
    metrics_client_secret: pulumi.Output[dict | None]

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
            self.release = helm_release(
                child_name(name, "cilium"),
                name=args.release.release_name,
                chart="cilium",
                version=args.cilium_version,
                namespace=args.namespace,
                repository=args.release.repository,
                values=merged,
                timeout_seconds=args.release.timeout_seconds,
                opts=self.child_opts(chain),
            )

        self.scraper_certificate = None
        scraper = args.metrics.scraper
        if scraper is not None:
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
                    private_key=args.private_key,
                ),
                wait_ready=True,
                opts=self.child_opts(chain),
            )

        # Values and issuer carry a dependency on the CA issuer, so a release that consumes them waits for it.
        anchor = chain.issuer if chain is not None else pulumi.Output.from_input(issuer_ref.manifest())
        self.helm_values = anchor.apply(lambda _: values)
        self.issuer = anchor.apply(lambda _: issuer_ref.manifest())
        self.ca_secret_name = anchor.apply(lambda _: ca_bundle.secret_name)
        self.ca_secret_namespace = anchor.apply(lambda _: ca_bundle.namespace)
        self.ca_key = pulumi.Output.from_input(ca_bundle.key)
        self.server_name_pattern = pulumi.Output.from_input(f"*.{args.cluster_label}.hubble-grpc.cilium.io")
        self.secret_names = pulumi.Output.from_input([c["metadata"]["name"] for c in self.certificates])
        self.metrics_server_name = pulumi.Output.from_input(
            f"{args.cluster_label}.hubble-metrics.cilium.io" if args.metrics.enabled else None
        )
        self.metrics_client_secret = (
            self.scraper_certificate.spec.apply(
                lambda spec: {"name": spec["secretName"], "namespace": scraper.namespace}
            )
            if self.scraper_certificate is not None
            else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {
                "helm_values": self.helm_values,
                "issuer": self.issuer,
                "ca_secret_name": self.ca_secret_name,
                "ca_secret_namespace": self.ca_secret_namespace,
                "ca_key": self.ca_key,
                "server_name_pattern": self.server_name_pattern,
                "secret_names": self.secret_names,
                "metrics_server_name": self.metrics_server_name,
                "metrics_client_secret": self.metrics_client_secret,
            }
        )
