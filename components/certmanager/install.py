"""CertManagerInstall: the cert-manager Helm release every cert-manager object depends on."""

from __future__ import annotations

from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, Field, model_validator

from ..base import TLSComponent
from ..context import CertManagerRef, ClusterContext
from ..helm import ChartMirror, ChartRepository, chart_source, helm_release
from ..merge import deep_merge
from ..model import DnsLabel, PinnedVersion, ReleaseName, Spec, StrictInt, host_port, version_tuple
from ..names import child_name

_RECURSIVE_FLAGS = ("--dns01-recursive-nameservers", "--dns01-self-check-nameservers")
_CRN_FLAG = "--cluster-resource-namespace"


def _resolver(value: str) -> str:
    # internal/apis/config/controller/validation/validation.go (v1.21.1) L69-83: each recursive nameserver is
    # `<ip>:<port>` or a DNS-over-HTTPS URL `https://<host>/...` (RFC 8484).
    if value.startswith("https://"):
        rest = value[len("https://") :]
        host = rest.split("/", 1)[0]
        if not host or any(c.isspace() for c in value):
            raise ValueError("must be 'host:port' or a DNS-over-HTTPS URL such as 'https://1.1.1.1/dns-query'")
        return value
    try:
        return host_port(value)
    except ValueError:
        raise ValueError(
            "must be 'host:port' (port 1-65535) or a DNS-over-HTTPS URL such as 'https://1.1.1.1/dns-query'"
        ) from None


Resolver = Annotated[str, AfterValidator(_resolver)]


def _gateway_api_in(values: dict[str, Any]) -> bool:
    """Gateway API support switched on through the chart values themselves, in any version's form."""
    config = values.get("config") or {}
    gates = str(values.get("featureGates") or "")
    return bool((config.get("gatewayAPI") or {}).get("enabled") or config.get("enableGatewayAPI")) or (
        "ExperimentalGatewayAPISupport=true" in gates
    )


class CertManagerInstallArgs(Spec):
    """Settings of the `cert-manager` chart (jetstack). Defaults install v1.21.1 with its CRDs."""

    version: PinnedVersion = Field(default="v1.21.1", description="Pinned chart version.")
    namespace: DnsLabel = Field(default="cert-manager", description="Namespace of the release (created if missing).")
    release_name: ReleaseName = Field(
        default="cert-manager", description="Helm release name; fixed so object names stay stable."
    )
    repository: ChartRepository = Field(
        default="https://charts.jetstack.io",
        description="Chart repository (https://) or OCI location (oci://quay.io/jetstack/charts).",
    )
    chart_mirror: ChartMirror | None = Field(
        default=None,
        description="Where every chart comes from (this release's unless `repository` is set, and through "
        "cluster_context() every component's): a chart mirror or an OCI registry.",
    )
    install_crds: bool = Field(
        default=True, description="Install the CRDs with the chart (crds.enabled, or installCRDs before v1.15)."
    )
    prometheus: bool = Field(
        default=True, description="prometheus.enabled (metrics scraping annotations / ServiceMonitor support)."
    )
    cluster_resource_namespace: DnsLabel | None = Field(
        default=None, description="Where ClusterIssuers read Secrets; defaults to the release namespace."
    )
    dns01_recursive_nameservers: list[Resolver] = Field(
        default_factory=list,
        description="Resolvers for the DNS-01 self-check: 'host:port' or DNS-over-HTTPS URLs, "
        "e.g. ['119.29.29.29:53', '8.8.8.8:53'].",
    )
    dns01_recursive_nameservers_only: bool = Field(
        default=False,
        description="Use only those resolvers (fixes challenges stuck 'pending' behind cluster-local DNS).",
    )
    gateway_api: bool = Field(
        default=False,
        description="Gateway API support (cert-manager issues Certificates for annotated Gateways); needs the Gateway "
        "API CRDs installed before cert-manager starts. Chart value config.gatewayAPI.enabled from v1.21, "
        "config.enableGatewayAPI in v1.15-v1.20, the ExperimentalGatewayAPISupport feature gate before.",
    )
    webhook_host_network: bool = Field(
        default=False,
        description="Run cert-manager's webhook on the host network (on port 10260): for clusters whose API server "
        "cannot reach pod IPs (custom CNI on managed control planes).",
    )
    extra_args: list[str] = Field(default_factory=list, description="Additional controller flags.")
    values: dict[str, Any] = Field(default_factory=dict, description="Other chart values; the settings above win.")
    timeout_seconds: StrictInt = Field(
        default=600, ge=60, le=3600, description="How long Helm waits for the release to be ready."
    )

    @model_validator(mode="after")
    def _consistent(self) -> CertManagerInstallArgs:
        if self.dns01_recursive_nameservers_only and not self.dns01_recursive_nameservers:
            raise ValueError("dns01RecursiveNameserversOnly needs dns01RecursiveNameservers to list resolvers")
        for arg in self.extra_args:
            if not arg.startswith("--"):
                raise ValueError(f"extraArgs entries are controller flags starting with '--', got {arg!r}")
            if arg.startswith(_RECURSIVE_FLAGS):
                raise ValueError(
                    f"extraArgs {arg!r}: set dns01RecursiveNameservers / dns01RecursiveNameserversOnly instead"
                )
        self._one_cluster_resource_namespace()
        if self.install_crds and version_tuple(self.version) < (1, 6, 0):
            raise ValueError(f"version {self.version!r} is too old; cert-manager.io/v1 needs chart v1.6.0 or newer")
        return self

    def _one_cluster_resource_namespace(self) -> None:
        """Every place that can set where ClusterIssuers read Secrets must agree, or ClusterIssuer chains break.

        The chart passes `--cluster-resource-namespace={{ clusterResourceNamespace }}` or `$(POD_NAMESPACE)`,
        then `extraArgs` (deploy/charts/cert-manager/templates/deployment.yaml, v1.21.1 L100-115), and the last
        flag wins; the `namespace` value moves the pods, and with them the default.
        """
        sources = {"namespace": self.namespace}
        moved = self.values.get("namespace")
        if moved:
            sources["values.namespace"] = moved
        if self.cluster_resource_namespace:
            sources["clusterResourceNamespace"] = self.cluster_resource_namespace
        in_values = self.values.get("clusterResourceNamespace")
        if in_values:
            sources["values.clusterResourceNamespace"] = in_values
        for arg in self.extra_args:
            if arg == _CRN_FLAG or arg.startswith(_CRN_FLAG + "="):
                sources[f"extraArgs {arg!r}"] = arg.partition("=")[2] or "(missing)"
        if moved and moved != self.namespace:
            raise ValueError(
                f"values.namespace {moved!r} moves cert-manager out of namespace {self.namespace!r}: "
                "set namespace instead"
            )
        crn_sources = {k: v for k, v in sources.items() if k not in ("namespace", "values.namespace")}
        if len(set(crn_sources.values())) > 1:
            listed = ", ".join(f"{k}={v!r}" for k, v in crn_sources.items())
            raise ValueError(
                f"cert-manager's cluster-resource namespace is set differently in {listed}: "
                "set it once, with clusterResourceNamespace"
            )

    @property
    def effective_cluster_resource_namespace(self) -> str:
        return self.cluster_resource_namespace or self.values.get("clusterResourceNamespace") or self.namespace

    def ref(self) -> CertManagerRef:
        """What other components need to know about this cert-manager."""
        service_account = (self.values.get("serviceAccount") or {}).get("name")
        crn = self.effective_cluster_resource_namespace
        return CertManagerRef(
            namespace=self.namespace,
            cluster_resource_namespace=crn if crn != self.namespace else None,
            release_name=self.release_name,
            service_account_name=service_account or None,
            version=self.version,
            dns01_recursive_nameservers_only=self.dns01_recursive_nameservers_only,
            gateway_api=self.gateway_api or _gateway_api_in(self.values),
        )

    def helm_values(self) -> dict[str, Any]:
        ours: dict[str, Any] = {"prometheus": {"enabled": self.prometheus}}
        # The startupapicheck post-install hook only succeeds once the webhook admits requests; Helm
        # waits for it, which is the readiness gate for the Issuers and Certificates that follow
        # (pulumi-kubernetes-cert-manager#18: "connection refused" from the webhook otherwise).
        ours["startupapicheck"] = {"enabled": True}
        if version_tuple(self.version) >= (1, 15, 0):
            ours["crds"] = {"enabled": self.install_crds, "keep": True}
        else:
            ours["installCRDs"] = self.install_crds
        if self.effective_cluster_resource_namespace != self.namespace:
            ours["clusterResourceNamespace"] = self.effective_cluster_resource_namespace
        if self.dns01_recursive_nameservers:
            ours["dns01RecursiveNameservers"] = ",".join(self.dns01_recursive_nameservers)
            ours["dns01RecursiveNameserversOnly"] = self.dns01_recursive_nameservers_only
        if self.extra_args:
            ours["extraArgs"] = list(self.extra_args)
        if self.webhook_host_network:
            # deploy/charts/cert-manager/values.yaml (v1.21.1) L1085-1101: on the host network the default port
            # 10250 is the kubelet's, so securePort must move.
            ours["webhook"] = {"hostNetwork": True, "securePort": 10260}
        if self.gateway_api:
            ours |= self._gateway_api_values()
        return deep_merge(self.values, ours)

    def _gateway_api_values(self) -> dict[str, Any]:
        """The switch the pinned version reads; the controller decodes its configuration strictly (issue 19)."""
        version = version_tuple(self.version)
        if version < (1, 15, 0):
            # Before v1.15 only the alpha feature gate (internal/controller/feature/features.go v1.14.0 L60-62,
            # chart value featureGates, values.yaml v1.14.0 L121).
            gates = [g for g in str(self.values.get("featureGates") or "").split(",") if g]
            return {"featureGates": ",".join([*gates, "ExperimentalGatewayAPISupport=true"])}
        # v1.15-v1.20: ControllerConfiguration.enableGatewayAPI (pkg/apis/config/controller/v1alpha1/types.go
        # v1.15.0 L84-87); v1.21 replaced it with gatewayAPI.enabled (types.go v1.21.0 L89-90, L152-153).
        switch = {"gatewayAPI": {"enabled": True}} if version >= (1, 21, 0) else {"enableGatewayAPI": True}
        return {
            "config": {
                "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                "kind": "ControllerConfiguration",
                **switch,
            }
        }


class CertManagerInstall(TLSComponent):
    """Installs cert-manager with Helm and waits until its webhook admits requests.

    Creates: a `helm.sh/v3` Release `<release_name>` in `<namespace>` (namespace created if missing).
    Outputs: `namespace`, `cluster_resource_namespace`, `release_name`, `version`, `status`.
    Pass the component in `depends_on` of anything that creates cert-manager objects.
    """

    namespace: pulumi.Output[str]
    cluster_resource_namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    version: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(self, name: str, args: CertManagerInstallArgs | dict, opts: pulumi.ResourceOptions | None = None):
        args = CertManagerInstallArgs.coerce(args)
        super().__init__(name, opts)
        self.args = args
        repository, ca_file = chart_source(args, args.chart_mirror)
        release = helm_release(
            child_name(name, "release"),
            name=args.release_name,
            chart="cert-manager",
            version=args.version,
            namespace=args.namespace,
            repository=repository,
            ca_file=ca_file,
            values=args.helm_values(),
            timeout_seconds=args.timeout_seconds,
            opts=self.child_opts(),
            create_namespace=True,
        )
        self.release = release
        self.namespace = release.status.apply(lambda s: s.namespace)
        self.cluster_resource_namespace = release.status.apply(lambda _: args.effective_cluster_resource_namespace)
        self.release_name = release.status.apply(lambda s: s.name)
        self.version = release.status.apply(lambda s: s.version)
        self.status = release.status.apply(lambda s: s.status)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_resource_namespace": self.cluster_resource_namespace,
                "release_name": self.release_name,
                "version": self.version,
                "status": self.status,
            }
        )

    def cluster_context(self, *, production: bool = False) -> ClusterContext:
        """A ClusterContext for the components that use this cert-manager (pass it as their `context`)."""
        return ClusterContext(cert_manager=self.args.ref(), production=production, chart_mirror=self.args.chart_mirror)
