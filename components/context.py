"""What every component needs to know about the cluster and the stack it is built into.

One `ClusterContext` per program: where cert-manager runs and where its ClusterIssuers read Secrets, whether
the stack is production, the cluster's versions. The stack program derives it from its config and hands the
same object to every component; another program builds one (or takes `CertManagerInstall.cluster_context()`).
It also keeps the ledger of the objects the program's components create, so that two components that
would write the same object are refused before the second registers anything.
"""

from __future__ import annotations

import weakref

from pulumi.runtime import settings
from pydantic import Field, PrivateAttr

from .helm import ChartMirror
from .model import DnsLabel, K8sName, PinnedVersion, ReleaseName, Spec
from .plan import ClaimLedger


class CertManagerRef(Spec):
    """The cert-manager a component's Issuers, Certificates and webhooks rely on."""

    namespace: DnsLabel = Field(default="cert-manager", description="Namespace cert-manager runs in.")
    cluster_resource_namespace: DnsLabel | None = Field(
        default=None,
        description="--cluster-resource-namespace: where ClusterIssuers read Secrets (default: namespace).",
    )
    release_name: ReleaseName = Field(default="cert-manager", description="Helm release name of cert-manager.")
    service_account_name: K8sName | None = Field(
        default=None,
        description="The controller's ServiceAccount (default: the chart's, derived from the release name).",
    )
    version: PinnedVersion | None = Field(default=None, description="cert-manager version, when known.")
    gateway_api: bool = Field(default=False, description="cert-manager's Gateway API support is switched on.")
    dns01_recursive_nameservers_only: bool = Field(
        default=False, description="The DNS-01 self-check asks only the configured public resolvers (seed 002's fix)."
    )

    @property
    def effective_cluster_resource_namespace(self) -> str:
        return self.cluster_resource_namespace or self.namespace

    @property
    def effective_service_account_name(self) -> str:
        # deploy/charts/cert-manager/templates/_helpers.tpl (v1.21.1) L13-35: the fullname is the release name
        # when it contains "cert-manager", else "<release>-cert-manager"; the ServiceAccount takes it.
        if self.service_account_name:
            return self.service_account_name
        name = self.release_name
        return name if "cert-manager" in name else f"{name}-cert-manager"[:63].rstrip("-")


class ClusterContext(Spec):
    """The stack-wide facts components follow instead of asking for them again."""

    cert_manager: CertManagerRef = Field(default_factory=CertManagerRef)
    production: bool = Field(
        default=False, description="The stack serves production (e.g. production ACME is expected)."
    )
    kubernetes_version: PinnedVersion | None = Field(
        default=None, description="The cluster's Kubernetes version, if known."
    )
    chart_mirror: ChartMirror | None = Field(
        default=None, description="Where every chart comes from instead of its project's repository."
    )
    _ledgers: weakref.WeakKeyDictionary = PrivateAttr(default_factory=weakref.WeakKeyDictionary)

    @property
    def ledger(self) -> ClaimLedger:
        """The claims of the program now running: a context reused by a later program starts empty."""
        root = settings.get_root_resource()
        if root is None:
            return ClaimLedger()
        return self._ledgers.setdefault(root, ClaimLedger())

    @property
    def cluster_resource_namespace(self) -> str:
        return self.cert_manager.effective_cluster_resource_namespace


_DEFAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def program_default() -> ClusterContext:
    """The context of components given none: one per program, so that two of them writing one object collide even
    when the program passes no `context=` (issue 20). A program that manages several clusters passes each
    cluster's own context, whose ledger is that cluster's."""
    root = settings.get_root_resource()
    if root is None:
        return ClusterContext()
    return _DEFAULTS.setdefault(root, ClusterContext())
