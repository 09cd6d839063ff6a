"""IstioHTTPSGateway: HTTPS at the Istio ingress gateway with a cert-manager certificate.

Seed 004 (Istio ingress, Japanese) mounted `istio-ingressgateway-certs` into the gateway and named files in the
Gateway; that is the `legacyMount` mode here. Current Istio reads the Secret named by `credentialName` through
SDS, from the namespace of the gateway *workload* (istio.io/latest/docs/ops/integrations/certmanager/; a Secret
elsewhere is invisible: istio#27740, IST0161); the Gateway API mode puts the workload in the Gateway's namespace.
Facts on Istio's `gateway` chart (manifests/charts/gateway): the workload label is
`istio: <release name without "istio-">` (templates/_helpers.tpl gateway.selectorLabels), service ports are
rendered verbatim, nodePort included (templates/service.yaml).
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .base import ComponentArgs, TLSComponent
from .certmanager import resources
from .certmanager.specs import DEFAULT_KEY_NOTE, CertificateSpec, IssuerRef, PrivateKeySpec
from .context import ClusterContext
from .helm import ChartRepository, chart_source, helm_release
from .hosts import CertificateNames, covered
from .inputs import Given
from .links import LinkError
from .model import (
    DnsLabel,
    DnsName,
    K8sName,
    PinnedVersion,
    ReleaseName,
    Spec,
    StackKey,
    StrictInt,
    repeated,
    version_tuple,
)
from .plan import ObjectClaim, certificate_claims
from .routes import Backend, GatewaySpec, HttpRoute, register_gateway_api

LEGACY_SECRET = "istio-ingressgateway-certs"
LEGACY_PATH = "/etc/istio/ingressgateway-certs"


class ExistingSecret(Spec):
    """A certificate Secret made elsewhere (DnspodWildcard's wildcard, made available in the gateway's namespace)."""

    name: Given[K8sName]
    dns_names: Given[list[DnsName]] = Field(
        min_length=1, description="The names the certificate covers (DnspodWildcard: dns_names)."
    )
    has_ca: bool = Field(default=False, description="The Secret carries ca.crt (a CA issuer's, not an ACME one).")


class Exposure(Spec):
    """How the gateway Service is exposed (seed 004 weighs these), as values of the istio/gateway chart."""

    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    http_node_port: StrictInt | None = Field(
        default=None, ge=30000, le=32767, description="NodePort for 80 (seed: 32000)."
    )
    https_node_port: StrictInt | None = Field(default=None, ge=30000, le=32767)
    load_balancer_ip: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _node_ports_need_node_port(self) -> Exposure:
        if (self.http_node_port or self.https_node_port) and self.type != "NodePort":
            raise ValueError("httpNodePort/httpsNodePort need type: NodePort")
        return self

    def values(self) -> dict[str, Any]:
        ports: list[dict[str, Any]] = [
            {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
        ]
        if self.http_node_port:
            ports[1]["nodePort"] = self.http_node_port
        if self.https_node_port:
            ports[2]["nodePort"] = self.https_node_port
        service: dict[str, Any] = {"type": self.type, "ports": ports}
        if self.load_balancer_ip:
            service["loadBalancerIP"] = self.load_balancer_ip
        if self.annotations:
            service["annotations"] = dict(self.annotations)
        return {"service": service}


class GatewayRelease(Spec):
    """Own the gateway workload: Istio's `gateway` chart, pinned."""

    install: bool = Field(default=False, description="Install the chart; false: the gateway workload exists already.")
    name: ReleaseName = Field(
        default="istio-ingressgateway", description="Release name; the workload label follows it."
    )
    version: PinnedVersion = Field(default="1.30.3")
    repository: ChartRepository = "https://istio-release.storage.googleapis.com/charts"
    exposure: Exposure = Field(default_factory=Exposure)
    timeout_seconds: StrictInt = Field(default=600, ge=60, le=3600)

    @property
    def selector(self) -> dict[str, str]:
        return {"istio": self.name.removeprefix("istio-")}


class IstioHTTPSGatewayArgs(ComponentArgs):
    """Seed 004: Gateway `mygateway` for `httpbin.example.com` on Istio's ingress gateway."""

    mode: Literal["istio", "gatewayApi", "legacyMount"] = Field(
        default="istio",
        description="istio: Gateway + VirtualService (SDS); gatewayApi: Gateway API; legacyMount: the seed's.",
    )
    istio_version: PinnedVersion = Field(
        default="1.30.3", description="Installed Istio: picks API versions and features."
    )
    name: K8sName = Field(description="Gateway name (seed: mygateway).")
    hosts: Given[list[DnsName]] = Field(min_length=1)
    backend: Backend = Field(description="Where the hosts are routed; backend.namespace defaults to the gateway's.")
    issuer: Given[IssuerRef] | None = Field(default=None, description="Issue the certificate from this issuer.")
    issuer_from: StackKey | None = Field(
        default=None, description="In a stack: issue from this component's issuer (privateCa)."
    )
    existing_secret: ExistingSecret | None = Field(
        default=None, description="Or serve a certificate Secret made elsewhere."
    )
    certificate_from: StackKey | None = Field(
        default=None, description="In a stack: serve this component's certificate Secret (e.g. dnspod's wildcard)."
    )
    certificate_name: K8sName | None = Field(default=None, description="Certificate/Secret name (default <name>-tls).")
    private_key: PrivateKeySpec = Field(
        default_factory=lambda: PrivateKeySpec(algorithm="ECDSA", size=256, rotation_policy="Always"),
        description="Leaf key, a new one on every renewal. " + DEFAULT_KEY_NOTE,
    )
    workload_namespace: DnsLabel = Field(default="istio-system", description="Namespace of the gateway workload.")
    gateway_namespace: DnsLabel | None = Field(
        default=None, description="Namespace of the Gateway object (istio mode; default: the workload's)."
    )
    release: GatewayRelease = Field(default_factory=GatewayRelease)
    selector: dict[str, str] | None = Field(
        default=None, description="Workload selector (default from the release name)."
    )
    https_redirect: bool = Field(default=True, description="Serve 80 only to redirect to HTTPS.")
    tls_mode: Literal["SIMPLE", "MUTUAL"] = "SIMPLE"
    client_ca_issuer: Given[IssuerRef] | None = Field(
        default=None,
        description="MUTUAL: the private CA whose clients are accepted (default: the serving issuer, if a CA).",
    )
    client_ca_from: StackKey | None = Field(
        default=None, description="In a stack: clientCaIssuer from this component (privateCa)."
    )
    cert_manager_gateway_support: bool = Field(
        default=False, description="gatewayApi: let cert-manager issue the certificate from a Gateway annotation."
    )
    allow_shared_certificate: bool = Field(
        default=False,
        description="Allow another gateway on the same workload to serve this Secret for other hosts (IST0138).",
    )

    @model_validator(mode="after")
    def _rules(self) -> IstioHTTPSGatewayArgs:
        sources = (self.issuer, self.existing_secret, self.issuer_from, self.certificate_from)
        if sum(s is not None for s in sources) != 1:
            raise ValueError(
                "set exactly one of issuer / issuerFrom (issue a certificate) or existingSecret / certificateFrom "
                "(serve one made elsewhere)"
            )
        self._release_serves_this_mode()
        if self.issuer_from or self.certificate_from or self.client_ca_from:
            return self  # checked again once the stack has resolved the links
        dupes = repeated(self.hosts)
        if dupes:
            raise ValueError(f"hosts lists {dupes} more than once")
        names = self.certificate_names()
        coverage = CertificateNames(names)
        for host in self.hosts:
            if not covered(coverage, host):
                raise ValueError(
                    f"host {host!r} is not covered by the certificate's names {names}: a wildcard covers one label"
                )
        if self.mode == "gatewayApi" and self.gateway_namespace not in (None, self.workload_namespace):
            raise ValueError("gatewayApi: the workload runs in the Gateway's namespace; set workloadNamespace only")
        if self.cert_manager_gateway_support and (self.mode != "gatewayApi" or self.issuer is None):
            raise ValueError("certManagerGatewaySupport needs mode: gatewayApi and an issuer")
        if self.tls_mode == "MUTUAL":
            if self.mode == "legacyMount":
                raise ValueError("MUTUAL with legacyMount is not offered: use mode istio (SDS)")
            if self.client_ca() is None and not (self.existing_secret and self.existing_secret.has_ca):
                raise ValueError(
                    "MUTUAL needs a client CA: an ACME certificate carries no ca.crt; set clientCaIssuer to a CA "
                    "issuer (e.g. a SelfSignedCAChain's issuer)"
                )
        if self.client_ca_issuer is not None and self.client_ca_issuer.issuer_type != "ca":
            raise ValueError("clientCaIssuer must be a CA issuer (type: ca)")
        if self.https_redirect and self.issuer is not None and self.issuer.acme_challenges == ["http01"]:
            raise ValueError(
                f"httpsRedirect with issuer {self.issuer.name!r}, which solves only HTTP-01: the redirect would break "
                "the challenge on port 80; set httpsRedirect: false or use a DNS-01 issuer"
            )
        for issuer in (self.issuer, self.client_ca_issuer):
            if issuer is not None and not issuer.usable_from(self.workload_namespace):
                raise ValueError(f"issuer {issuer.name!r} is an Issuer outside {self.workload_namespace!r}")
        return self

    def _release_serves_this_mode(self) -> None:
        """The istio/gateway chart's workload serves only mode istio (issue 19, checked against the charts)."""
        if not self.release.install:
            return
        if self.mode == "gatewayApi":
            # A Gateway API Gateway without spec.addresses gets a workload Istio deploys for it (<name>-istio); the
            # chart's would serve nothing (istio.io "Gateway API" docs, automated deployment).
            raise ValueError(
                "release.install with mode gatewayApi: Istio deploys its own workload for a Gateway API Gateway, so "
                "the chart's would serve nothing; use mode istio with the release, or release.install: false"
            )
        if self.mode == "legacyMount":
            # The istio/gateway chart mounts only .Values.volumes/volumeMounts, empty by default
            # (istio.io/istio manifests/charts/gateway/templates/deployment.yaml L62-65 and L107-108,
            # values.yaml L203 and L207, module version v0.0.0-20260827124520-eed52ebb66ad).
            raise ValueError(
                "release.install with mode legacyMount: the istio/gateway chart mounts no "
                "istio-ingressgateway-certs, so the Gateway would name files that do not exist; use mode istio (SDS)"
            )

    def links(self) -> list[tuple[str, str, str]]:
        return [
            ("issuer_from", "issuer", "issuer"),
            ("certificate_from", "existing_secret", "certificate"),
            ("client_ca_from", "client_ca_issuer", "issuer"),
        ]

    def linked_value(self, target: str, value: Any) -> Any:
        if target != "existing_secret":
            return value
        if self.workload_namespace not in value.namespaces:
            raise LinkError(
                f"certificateFrom {self.certificate_from!r}: Secret {value.secret_name!r} is not made available in "
                f"{self.workload_namespace!r}, where the gateway workload reads it (istio#27740); add "
                f"{self.workload_namespace!r} to that component's replication.namespaces"
            )
        return {"name": value.secret_name, "dnsNames": list(value.dns_names), "hasCa": value.has_ca}

    @property
    def secret_name(self) -> str:
        if self.existing_secret is not None:
            return self.existing_secret.name
        if self.mode == "legacyMount":
            return LEGACY_SECRET
        return self.certificate_name or f"{self.name}-tls"[:253]

    def certificate_names(self) -> list[str]:
        return list(self.existing_secret.dns_names) if self.existing_secret else sorted(set(self.hosts))

    def client_ca(self) -> IssuerRef | None:
        if self.client_ca_issuer is not None:
            return self.client_ca_issuer
        if self.issuer is not None and self.issuer.issuer_type == "ca":
            return self.issuer
        return None

    def needs_cacert_secret(self) -> bool:
        """MUTUAL with a serving Secret that has no ca.crt of the client CA: `<credentialName>-cacert` brings it."""
        if self.tls_mode != "MUTUAL":
            return False
        same = self.issuer is not None and self.client_ca() == self.issuer
        return not same and not (self.existing_secret and self.existing_secret.has_ca and self.client_ca_issuer is None)

    @property
    def api_version(self) -> str:
        version = version_tuple(self.istio_version)
        # networking.istio.io/v1 is served from Istio 1.22 (../shared/schemas/NOTES.md §3); v1beta1 before.
        return "networking.istio.io/v1" if version >= (1, 22, 0) else "networking.istio.io/v1beta1"

    @property
    def workload_selector(self) -> dict[str, str]:
        return self.selector or self.release.selector

    @property
    def object_namespace(self) -> str:
        return self.gateway_namespace or self.workload_namespace

    @property
    def backend_namespace(self) -> str:
        return self.backend.namespace or self.object_namespace

    def cert_manager_defaults(self) -> dict[str, Any]:
        return {"gateway_api": True} if self.cert_manager_gateway_support else {}

    def problems(self, context: ClusterContext) -> list[str]:
        problems = []
        if self.cert_manager_gateway_support and not context.cert_manager.gateway_api:
            problems.append(
                "certManagerGatewaySupport: cert-manager's Gateway API support is off (certManager.gatewayApi); "
                "a stack switches it on by itself, another program must install cert-manager with it"
            )
        if self.mode == "legacyMount" and version_tuple(self.istio_version) >= (1, 6, 0):
            pass  # allowed, but the preview marks it legacy (warning at construction)
        return problems

    def uses(self) -> list[tuple[str, str | None, str]]:
        used = [issuer.key() for issuer in (self.issuer, self.client_ca_issuer) if issuer is not None]
        if self.existing_secret is not None:
            used.append(("Secret", self.workload_namespace, self.existing_secret.name))
        return used

    def gateway_api_spec(self) -> GatewaySpec:
        annotations = {}
        if self.cert_manager_gateway_support and self.issuer is not None:
            key = "cert-manager.io/cluster-issuer" if self.issuer.kind == "ClusterIssuer" else "cert-manager.io/issuer"
            annotations[key] = self.issuer.name
        return GatewaySpec(
            name=self.name,
            namespace=self.workload_namespace,
            https_redirect=self.https_redirect,
            annotations=annotations,
            routes=[
                HttpRoute(
                    name=f"{self.name}-{i}" if len(self.hosts) > 1 else self.name,
                    host=host,
                    backend=Backend(
                        service=self.backend.service, port=self.backend.port, namespace=self.backend_namespace
                    ),
                )
                for i, host in enumerate(sorted(set(self.hosts)))
            ],
        )

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        owner = f"IstioHTTPSGateway {name!r}"
        claims: list[ObjectClaim] = []
        ns = self.workload_namespace
        if self.issuer is not None and not self.cert_manager_gateway_support:
            claims += certificate_claims(ns, self.secret_name, self.secret_name, f"{owner} (serving certificate)")
        if self.needs_cacert_secret():
            cacert = f"{self.secret_name}-cacert"
            claims += certificate_claims(ns, cacert, cacert, f"{owner} (client CA)")
        if self.mode == "gatewayApi":
            claims += self.gateway_api_spec().claims(owner)
        else:
            claims.append(ObjectClaim("Gateway.networking.istio.io", self.object_namespace, self.name, owner))
            claims.append(ObjectClaim("VirtualService", self.object_namespace, self.name, owner))
            if not self.allow_shared_certificate:
                selector = ",".join(f"{k}={v}" for k, v in sorted(self.workload_selector.items()))
                claims.append(
                    ObjectClaim(
                        "gateway certificate",
                        ns,
                        f"{selector}/{self.secret_name}",
                        f"{owner} (hosts {', '.join(self.hosts)})",
                        note="IST0138: two gateways on one workload share a certificate for different hosts; HTTP/2 "
                        "connection reuse then answers 404 NR. Use one certificate per gateway, or set "
                        "allowSharedCertificate",
                    )
                )
        if self.release.install:
            claims.append(ObjectClaim("HelmRelease", ns, self.release.name, f"{owner} (gateway chart)"))
        return claims


class IstioHTTPSGateway(TLSComponent):
    """HTTPS at an Istio ingress gateway.

    Creates (names `<name>-<role>`):
      `certificate`         Certificate in the gateway workload's namespace (unless existingSecret, or cert-manager
                            issues it from the Gateway annotation); `client-ca` with MUTUAL when needed
      istio mode:           `gateway` (networking.istio.io Gateway: HTTPS 443 SIMPLE/MUTUAL with credentialName,
                            80 redirecting), `virtualservice` (hosts -> backend through the gateway)
      gatewayApi mode:      `gateway` (gateway.networking.k8s.io/v1, listener per host), `route-*`, `grant-*`
      legacyMount mode:     the seed's Secret `istio-ingressgateway-certs` and file paths (marked legacy)
      `release`             istio/gateway chart, when release.install
    Outputs: `gateway` ({name, namespace}), `secret` ({name, namespace}), `hosts`, `urls`, `gateway_values`.
    """

    gateway: pulumi.Output[dict[str, Any]]
    secret: pulumi.Output[dict[str, Any]]
    hosts: pulumi.Output[list[str]]
    urls: pulumi.Output[list[str]]
    gateway_values: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        args: IstioHTTPSGatewayArgs | dict,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: ClusterContext | None = None,
    ):
        args = IstioHTTPSGatewayArgs.coerce(args)
        super().__init__(name, opts, args=args, context=context)
        ns = args.workload_namespace
        if args.mode == "legacyMount":
            pulumi.log.warn(
                f"IstioHTTPSGateway {name!r}: legacyMount serves files mounted from {LEGACY_SECRET!r}, gone from "
                "current Istio docs; SDS (mode: istio) or the Gateway API replace it (istio#33084)",
                resource=self,
            )
        gateway_values = args.release.exposure.values()
        release = None
        if args.release.install:
            repository, ca_file = chart_source(args.release, self.context.chart_mirror)
            release = helm_release(
                self.child_name("release"),
                name=args.release.name,
                chart="gateway",
                version=args.release.version,
                namespace=ns,
                repository=repository,
                ca_file=ca_file,
                values=gateway_values,
                timeout_seconds=args.release.timeout_seconds,
                opts=self.child_opts(),
            )

        secret_after: list[pulumi.Resource] = []
        if args.issuer is not None and not args.cert_manager_gateway_support:
            secret_after.append(
                resources.certificate(
                    self.child_name("certificate"),
                    name=args.secret_name,
                    namespace=ns,
                    spec=CertificateSpec(
                        secret_name=args.secret_name,
                        issuer_ref=args.issuer,
                        dns_names=sorted(set(args.hosts)),
                        private_key=args.private_key,
                    ),
                    wait_ready=True,
                    opts=self.child_opts(),
                )
            )
        client_ca = args.client_ca()
        if args.needs_cacert_secret() and client_ca is not None:
            # Istio reads the client CA of `credentialName` from `<credentialName>-cacert` (key ca.crt): a
            # certificate from the client CA, whose Secret carries that CA as ca.crt.
            secret_after.append(
                resources.certificate(
                    self.child_name("client-ca"),
                    name=f"{args.secret_name}-cacert",
                    namespace=ns,
                    spec=CertificateSpec(
                        secret_name=f"{args.secret_name}-cacert",
                        issuer_ref=client_ca,
                        common_name=f"{args.name} client CA carrier",
                        private_key=args.private_key,
                        usages=["digital signature", "key encipherment", "client auth"],
                    ),
                    wait_ready=True,
                    opts=self.child_opts(),
                )
            )
        after = [*secret_after, *([release] if release else [])]

        if args.mode == "gatewayApi":
            gateway = register_gateway_api(self, args.gateway_api_spec(), args.secret_name, *after)
        else:
            gateway = k8s.apiextensions.CustomResource(
                self.child_name("gateway"),
                api_version=args.api_version if args.mode == "istio" else _legacy_api(args.istio_version),
                kind="Gateway",
                metadata={"name": args.name, "namespace": args.object_namespace},
                spec=self._istio_gateway_spec(args),
                opts=self.child_opts(*after),
            )
            k8s.apiextensions.CustomResource(
                self.child_name("virtualservice"),
                api_version=args.api_version if args.mode == "istio" else _legacy_api(args.istio_version),
                kind="VirtualService",
                metadata={"name": args.name, "namespace": args.object_namespace},
                spec={
                    "hosts": sorted(set(args.hosts)),
                    "gateways": [f"{args.object_namespace}/{args.name}"],
                    "http": [
                        {
                            "route": [
                                {
                                    "destination": {
                                        "host": f"{args.backend.service}.{args.backend_namespace}.svc.cluster.local",
                                        "port": {"number": args.backend.port},
                                    }
                                }
                            ]
                        }
                    ],
                },
                opts=self.child_opts(gateway),
            )

        hosts = sorted(set(args.hosts))
        self.gateway = gateway.metadata.apply(lambda m: {"name": m["name"], "namespace": m["namespace"]})
        self.secret = pulumi.Output.from_input({"name": args.secret_name, "namespace": ns})
        self.hosts = pulumi.Output.from_input(hosts)
        self.urls = pulumi.Output.from_input([f"https://{h}/" for h in hosts if not h.startswith("*.")])
        self.gateway_values = pulumi.Output.from_input(gateway_values)
        self.register_outputs(
            {
                "gateway": self.gateway,
                "secret": self.secret,
                "hosts": self.hosts,
                "urls": self.urls,
                "gateway_values": self.gateway_values,
            },
            known={
                "gateway": {"name": args.name, "namespace": args.object_namespace},
                "secret": {"name": args.secret_name, "namespace": ns},
                "hosts": hosts,
            },
        )

    @staticmethod
    def _istio_gateway_spec(args: IstioHTTPSGatewayArgs) -> dict[str, Any]:
        hosts = sorted(set(args.hosts))
        if args.mode == "legacyMount":
            tls: dict[str, Any] = {
                "mode": "SIMPLE",
                "serverCertificate": f"{LEGACY_PATH}/tls.crt",
                "privateKey": f"{LEGACY_PATH}/tls.key",
            }
        else:
            tls = {"mode": args.tls_mode, "credentialName": args.secret_name}
            if (
                args.tls_mode == "MUTUAL"
                and args.needs_cacert_secret()
                and version_tuple(args.istio_version) >= (1, 28, 0)
            ):
                tls["caCertCredentialName"] = f"{args.secret_name}-cacert"
        servers = [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "tls": tls, "hosts": hosts}]
        if args.https_redirect:
            servers.append(
                {
                    "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                    "tls": {"httpsRedirect": True},
                    "hosts": hosts,
                }
            )
        return {"selector": dict(args.workload_selector), "servers": servers}


def _legacy_api(istio_version: str) -> str:
    # Seed 004 (Istio 1.0) used v1alpha3; v1beta1 from 1.5, v1 from 1.22.
    version = version_tuple(istio_version)
    if version < (1, 5, 0):
        return "networking.istio.io/v1alpha3"
    return "networking.istio.io/v1" if version >= (1, 22, 0) else "networking.istio.io/v1beta1"
