"""CertManagerInstall: the cert-manager Helm release every cert-manager object depends on."""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field, model_validator

from ..base import TLSComponent
from ..helm import helm_release
from ..merge import deep_merge
from ..model import DnsLabel, HostPort, PinnedVersion, Spec, version_tuple
from ..names import child_name

_RECURSIVE_FLAGS = ("--dns01-recursive-nameservers", "--dns01-self-check-nameservers")


class CertManagerInstallArgs(Spec):
    """Settings of the `cert-manager` chart (jetstack). Defaults install v1.21.1 with its CRDs."""

    version: PinnedVersion = Field("v1.21.1", description="Pinned chart version.")
    namespace: DnsLabel = Field("cert-manager", description="Namespace of the release (created if missing).")
    release_name: DnsLabel = Field("cert-manager", description="Helm release name; fixed so object names stay stable.")
    repository: str = Field(
        "https://charts.jetstack.io", pattern=r"^(https://|oci://)", description="Chart repository."
    )
    install_crds: bool = Field(
        True, description="Install the CRDs with the chart (crds.enabled, or installCRDs before v1.15)."
    )
    prometheus: bool = Field(
        True, description="prometheus.enabled (metrics scraping annotations / ServiceMonitor support)."
    )
    cluster_resource_namespace: DnsLabel | None = Field(
        None, description="Where ClusterIssuers read Secrets; defaults to the release namespace."
    )
    dns01_recursive_nameservers: list[HostPort] = Field(
        default_factory=list,
        description="Resolvers for the DNS-01 self-check, e.g. ['119.29.29.29:53', '8.8.8.8:53'].",
    )
    dns01_recursive_nameservers_only: bool = Field(
        False, description="Use only those resolvers (fixes challenges stuck 'pending' behind cluster-local DNS)."
    )
    extra_args: list[str] = Field(default_factory=list, description="Additional controller flags.")
    values: dict[str, Any] = Field(default_factory=dict, description="Other chart values; the settings above win.")
    timeout_seconds: int = Field(600, ge=60, le=3600, description="How long Helm waits for the release to be ready.")

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
        if self.install_crds and version_tuple(self.version) < (1, 6, 0):
            raise ValueError(f"version {self.version!r} is too old; cert-manager.io/v1 needs chart v1.6.0 or newer")
        return self

    @property
    def effective_cluster_resource_namespace(self) -> str:
        return self.cluster_resource_namespace or self.namespace

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
        if self.cluster_resource_namespace:
            ours["clusterResourceNamespace"] = self.cluster_resource_namespace
        if self.dns01_recursive_nameservers:
            ours["dns01RecursiveNameservers"] = ",".join(self.dns01_recursive_nameservers)
            ours["dns01RecursiveNameserversOnly"] = self.dns01_recursive_nameservers_only
        if self.extra_args:
            ours["extraArgs"] = list(self.extra_args)
        return deep_merge(self.values, ours)


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
        release = helm_release(
            child_name(name, "release"),
            name=args.release_name,
            chart="cert-manager",
            version=args.version,
            namespace=args.namespace,
            repository=args.repository,
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
