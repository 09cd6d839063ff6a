"""WhizardTLS: HTTPS for KubeSphere Whizard's query path, and KubeSphere pointed at it, verifying it.

Seed 000 served its CA certificate itself (`isCA: true` from a selfSigned issuer as the server certificate);
clients such as rustls refuse a CA used as an end-entity certificate, and renewing it breaks every client. Here a
CA chain signs a leaf, and the Whizard resources serve the leaf.
Whizard facts (WizTelemetry/whizard, read at v0.9.0 and v0.10.3; ../shared/schemas/NOTES.md §4):
- `httpServerTLSConfig` is `spec.httpServerTLSConfig` on Query, QueryFrontend and Router from v0.7.0 to v0.9.x,
  and `spec.webConfig.httpServerTLSConfig` from v0.10.0 (PR #441); Gateway has `spec.webConfig` from v0.9.0.
  An old path on a new Whizard is pruned by the API server without an error.
- The QueryFrontend/Query/Router objects are what the operator reconciles; in v0.10 it merges the Service's
  `*TemplateSpec` into them only where they leave a field empty (pkg/controllers/monitoring/
  query_frontend_controller.go L90 and L148-152: `mergo.Merge` without override), so a value patched on the
  object itself is kept, and it is the object that is patched here.
- Services are `<app>-<instance>-operated` on port 10902 (pkg/constants/constans.go L29, L39-42, L50;
  resources/base.go QualifiedName), and the scheme flips from http to https on the same port.
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
from .inputs import Given
from .kubesphere_config import point_at_https
from .model import DnsLabel, DnsName, K8sName, PinnedVersion, Spec, StackKey, version_tuple
from .mount_patch import mount_patch_spec
from .plan import ObjectClaim, certificate_claims
from .selfsigned_ca import SelfSignedCAChain, SelfSignedCAChainArgs
from .whizard_schema import crd_name, has_path, wrong_layout

API_VERSION = "monitoring.whizard.io/v1alpha1"
PORT = 10902
FIELD_MANAGER = {"pulumi.com/patchFieldManager": "cluster-tls"}
KINDS = {"query_frontend": "QueryFrontend", "query": "Query", "router": "Router", "gateway": "Gateway"}
APPS = {"query_frontend": "query-frontend", "query": "query", "router": "router", "gateway": "gateway"}


# Whizard never verifies client certificates, in any release up to v0.10.3 (WizTelemetry/whizard):
# - v0.7-v0.9: Query, QueryFrontend and Router hand their Envoy sidecar the key pair only and never read
#   clientCASecret (pkg/controllers/monitoring/resources/query/deployment.go v0.9.0 L134-153).
# - the v0.9 Gateway and every v0.10 resource write `client_ca_file` into the exporter-toolkit web config but
#   never `client_auth_type` (resources/gateway/secret.go v0.9.0 L45-54; resources/web_config.go v0.10.3
#   L84-93, L158), and the CRD has no clientAuthType (commented out, api/monitoring/v1alpha1/types.go v0.10.3
#   L193-197). exporter-toolkit then refuses to serve: web/tls_config.go v0.10.0 L212-219 (v0.8.2 L175-182).
CLIENT_CA = (
    "clientCa: no Whizard release (checked to v0.10.3) can require client certificates: before v0.10 Query, "
    "QueryFrontend and Router ignore clientCASecret, and where it is read (the v0.9 Gateway, every v0.10 resource) "
    "Whizard sets no client_auth_type, so the server refuses to start (exporter-toolkit: \"Client CA's have been "
    'configured without a Client Auth Policy"); leave clientCa off'
)


class WhizardComponents(Spec):
    """Which Whizard resources serve HTTPS (each patched on its own)."""

    query_frontend: bool = True
    query: bool = True
    router: bool = True
    gateway: bool = Field(default=False, description="Gateway (spec.webConfig, Whizard >= v0.9.0).")

    def selected(self) -> list[str]:
        return [field for field in KINDS if getattr(self, field)]


class KubeSphereSettings(Spec):
    """The KubeSphere that reads Whizard: its version, config, and the ks-apiserver that must trust the CA."""

    edition: Literal["kse", "kubesphere"] = Field(
        default="kse",
        description="kse: KubeSphere Enterprise (seed 000: >= 3.4.1); kubesphere: the open-source edition.",
    )
    version: PinnedVersion = Field(description="KubeSphere version, e.g. v3.4.1.")
    namespace: DnsLabel = "kubesphere-system"
    config_map: K8sName = "kubesphere-config"
    config_key: str = "kubesphere.yaml"
    verify: bool = Field(
        default=True,
        description="Verify Whizard's certificate against the CA. false: the seed's insecureSkipVerify, marked "
        "insecure in the preview.",
    )
    apiserver_deployment: K8sName = Field(
        default="ks-apiserver", description="Deployment that reads the monitoring endpoint."
    )
    apiserver_container: K8sName = "ks-apiserver"
    ca_mount_path: str = Field(default="/etc/kubesphere/whizard-tls", pattern=r"^/[^\s]*[^/\s]$")
    client_secret_name: K8sName = Field(
        default="whizard-client-tls",
        description="Certificate in the KubeSphere namespace whose Secret brings ca.crt there.",
    )

    @model_validator(mode="after")
    def _talks_https(self) -> KubeSphereSettings:
        version = version_tuple(self.version)
        if self.edition == "kse" and version < (3, 4, 1):
            raise ValueError(f"KubeSphere Enterprise {self.version}: HTTPS to Whizard needs KSE >= 3.4.1 (seed 000)")
        if self.edition == "kubesphere" and version < (4, 0, 0):
            raise ValueError(
                f"KubeSphere {self.version}: the 3.x monitoring client does not talk HTTPS to its endpoint "
                "(kubesphere/ks-installer#2240); keep Whizard on HTTP or upgrade"
            )
        return self


class WhizardTLSArgs(ComponentArgs):
    """Seed 000: Whizard `whizard` in kubesphere-monitoring-system, CA `whizard-tls-certs`, KubeSphere verifying."""

    whizard_version: PinnedVersion = Field(
        description="Installed Whizard version: picks the TLS field's path (checked against the installed CRDs where "
        "the cluster can be read)."
    )
    namespace: DnsLabel = Field(
        default="kubesphere-monitoring-system", description="Namespace of the Whizard resources."
    )
    instance: K8sName = Field(default="whizard", description="Name of the Whizard resources (seed: whizard).")
    components: WhizardComponents = Field(default_factory=WhizardComponents)
    cluster_domain: DnsName | None = Field(
        default=None, description="Cluster DNS domain; adds `<svc>.<ns>.svc.<domain>` names."
    )
    issuer: Given[IssuerRef] | None = Field(
        default=None, description="An existing CA issuer; unset builds a SelfSignedCAChain."
    )
    issuer_from: StackKey | None = Field(
        default=None, description="In a stack: take the issuer of this component (e.g. privateCa)."
    )
    ca: SelfSignedCAChainArgs | None = Field(default=None, description="The CA chain built when `issuer` is unset.")
    certificate_name: K8sName = Field(
        default="whizard-tls", description="The serving leaf Certificate (and its Secret)."
    )
    duration: str = Field(default="2160h", description="Leaf lifetime.")
    private_key: PrivateKeySpec = Field(
        default_factory=lambda: PrivateKeySpec(algorithm="ECDSA", size=256, rotation_policy="Always"),
        description="Leaf key, a new one on every renewal. " + DEFAULT_KEY_NOTE,
    )
    client_ca: bool = Field(
        default=False,
        description="Require client certificates (clientCASecret): refused, no Whizard release can (see CLIENT_CA).",
    )
    kubesphere: KubeSphereSettings | None = Field(default=None, description="Point KubeSphere at the HTTPS endpoints.")

    @model_validator(mode="after")
    def _supported(self) -> WhizardTLSArgs:
        version = version_tuple(self.whizard_version)
        if version < (0, 7, 0):
            raise ValueError(
                f"Whizard {self.whizard_version} has no httpServerTLSConfig: it arrived in v0.7.0 (seed 000)"
            )
        if self.components.gateway and version < (0, 9, 0):
            raise ValueError(f"gateway: Whizard {self.whizard_version} has no Gateway webConfig (from v0.9.0)")
        if not self.components.selected():
            raise ValueError("components: select at least one Whizard resource to serve HTTPS")
        if self.kubesphere is not None and not self.components.query_frontend:
            raise ValueError("kubesphere reads query-frontend: keep components.queryFrontend on")
        if sum(x is not None for x in (self.issuer, self.ca, self.issuer_from)) > 1:
            raise ValueError("set one of issuer (an existing CA issuer), issuerFrom (a stack's) or ca (build one)")
        if self.issuer is not None and self.issuer.issuer_type in ("selfSigned", "acme"):
            raise ValueError(
                f"issuer {self.issuer.name!r} is {self.issuer.issuer_type}: the leaf must come from a CA issuer "
                "whose ca.crt clients can trust (seed 000 served a selfSigned CA certificate itself)"
            )
        if self.issuer is not None and not self.issuer.usable_from(self.namespace):
            raise ValueError(f"issuer {self.issuer.name!r} is an Issuer outside {self.namespace!r}")
        if self.client_ca:
            raise ValueError(CLIENT_CA)
        return self

    def links(self) -> list[tuple[str, str, str]]:
        return [("issuer_from", "issuer", "issuer")]

    def uses(self) -> list[tuple[str, str | None, str]]:
        return [self.issuer.key()] if self.issuer is not None else []

    def chain_args(self) -> SelfSignedCAChainArgs:
        return self.ca or SelfSignedCAChainArgs(scope="cluster", ca_common_name="Whizard CA")

    def tls_path(self, component: str) -> tuple[str, ...]:
        """Where `httpServerTLSConfig` sits in `spec` for this Whizard version and resource."""
        if component == "gateway" or version_tuple(self.whizard_version) >= (0, 10, 0):
            return ("webConfig", "httpServerTLSConfig")
        return ("httpServerTLSConfig",)

    def services(self) -> list[str]:
        return [f"{APPS[c]}-{self.instance}-operated" for c in self.components.selected()]

    def dns_names(self) -> list[str]:
        names = []
        for service in self.services():
            names += [f"{service}.{self.namespace}.svc", f"{service}.{self.namespace}"]
            if self.cluster_domain:
                names.append(f"{service}.{self.namespace}.svc.{self.cluster_domain}")
        return names

    @property
    def endpoint(self) -> str:
        return f"https://query-frontend-{self.instance}-operated.{self.namespace}.svc:{PORT}"

    def issuer_ref(self, name: str) -> IssuerRef:
        if self.issuer is not None:
            return self.issuer
        return self.chain_args().ca_issuer_ref(f"{name}-ca")

    def problems(self, context: ClusterContext) -> list[str]:
        problems = []
        chain = self.chain_args() if self.issuer is None else None
        if chain is not None:
            problems += chain.problems(context)
            if chain.scope == "namespaced" and chain.namespace != self.namespace:
                problems.append(f"ca.namespace {chain.namespace!r}: a namespaced CA must be in {self.namespace!r}")
        ks = self.kubesphere
        if ks is not None and ks.verify:
            ref = self.issuer_ref("x")
            if not ref.usable_from(ks.namespace):
                problems.append(
                    f"kubesphere.verify: ks-apiserver in {ks.namespace!r} needs the CA as a file, delivered by a "
                    f"certificate issued there, but {ref.kind} {ref.name!r} only signs in {ref.namespace!r}; use "
                    "ca.scope: cluster (a ClusterIssuer, the seed's names still apply) or kubesphere.verify: false "
                    "(the seed's insecureSkipVerify)"
                )
        return problems

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        owner = f"WhizardTLS {name!r}"
        claims = []
        if self.issuer is None:
            claims += self.chain_args().claims(f"{name}-ca", context)
        claims += certificate_claims(self.namespace, self.certificate_name, self.certificate_name, f"{owner} (leaf)")
        for component in self.components.selected():
            claims.append(ObjectClaim(f"{KINDS[component]} (patch)", self.namespace, self.instance, owner))
        ks = self.kubesphere
        if ks is not None:
            claims.append(ObjectClaim("ConfigMap (patch)", ks.namespace, ks.config_map, owner))
            if ks.verify:
                claims += certificate_claims(
                    ks.namespace, ks.client_secret_name, ks.client_secret_name, f"{owner} (CA for KubeSphere)"
                )
                claims.append(ObjectClaim("Deployment (patch)", ks.namespace, ks.apiserver_deployment, owner))
        return claims

    def tls_client_config(self) -> dict[str, Any]:
        """kubesphere.yaml `tlsConfig`. `insecureSkipVerify` is the seed's key; `caFile`, `certFile` and `keyFile`
        follow the same camelCase (KubeSphere Enterprise's monitoring client is not public source: checked against
        the seed's document only)."""
        ks = self.kubesphere
        assert ks is not None
        if not ks.verify:
            return {"insecureSkipVerify": True}
        return {"caFile": f"{ks.ca_mount_path}/ca.crt", "insecureSkipVerify": False}


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return value


class WhizardTLS(TLSComponent):
    """HTTPS on Whizard's QueryFrontend/Query/Router (and Gateway), from a CA-signed leaf, and KubeSphere using it.

    Creates:
      `<name>-ca`                      SelfSignedCAChain (unless `issuer` is given)
      `<name>-certificate`             leaf Certificate `certificate_name` (not a CA) with the services' names and
                                       127.0.0.1, in the Whizard namespace
      `<name>-<kind>-tls`              server-side-apply patches of the existing Whizard resources (fixed field
                                       manager `cluster-tls`; deleting them gives the fields back, never the object)
      `<name>-<kind>-crd`              the resource's installed CRD, read: a `whizard_version` whose TLS path it
                                       lacks is refused before the patch (whizard_schema.py)
      with `kubesphere`:
      `<name>-kubesphere-client`       Certificate in kubesphere-system whose Secret carries ca.crt for
                                       ks-apiserver (the CA reaches that namespace with it)
      `<name>-apiserver-mount`         patch of the ks-apiserver Deployment mounting that Secret, aligned with the
                                       live Deployment (`<name>-apiserver-live`, read; see mount_patch.py)
      `<name>-kubesphere-config`       patch of `kubesphere-config`: the live `kubesphere.yaml` with only the
                                       monitoring and alerting endpoints and their tlsConfig changed; kept on
                                       `pulumi destroy` (retainOnDelete: giving the key up would delete it)
    Outputs: `secret` ({name, namespace, keys}), `issuer`, `patched` (kind/namespace/name), `endpoints`,
    `kubesphere_config_changes` (the edit of kubesphere.yaml, one line per key), `insecure`.
    """

    secret: pulumi.Output[dict[str, Any]]
    issuer: pulumi.Output[dict[str, Any]]
    patched: pulumi.Output[list[str]]
    endpoints: pulumi.Output[dict[str, Any]]
    kubesphere_config_changes: pulumi.Output[list[str]]
    insecure: pulumi.Output[bool]

    def _installed_crd(self, component: str) -> k8s.apiextensions.v1.CustomResourceDefinition:
        """The resource's CRD as the cluster has it (read at preview and up; see whizard_schema.py)."""
        kind = KINDS[component]
        return k8s.apiextensions.v1.CustomResourceDefinition.get(
            self.child_name(f"{APPS[component]}-crd"), crd_name(kind), opts=pulumi.ResourceOptions(parent=self)
        )

    def _checked_layouts(self, crds: list[Any], selected: list[str], args: WhizardTLSArgs) -> list[Any]:
        """Every selected resource's CRD checked against the TLS path its version reads, in the selection's order,
        so the refusal names the same resource on every run (raised before any patch registers)."""
        unchecked = []
        for component, crd in zip(selected, crds, strict=True):
            kind, path = KINDS[component], args.tls_path(component)
            problem = wrong_layout(crd, kind, path, args.whizard_version)
            if problem is not None:
                raise ValueError(f"WhizardTLS {self._resource_name!r}: {problem}")
            if has_path(crd, path) is None:
                unchecked.append(kind)
        if unchecked:
            pulumi.log.warn(
                f"WhizardTLS {self._resource_name!r}: whizardVersion {args.whizard_version!r} is taken on trust here "
                "(no cluster to read its CRDs); `pulumi preview` and `pulumi up` against the cluster check it against "
                "the installed CRDs",
                resource=self,
            )
        return crds

    def __init__(
        self,
        name: str,
        args: WhizardTLSArgs | dict,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: ClusterContext | None = None,
    ):
        args = WhizardTLSArgs.coerce(args)
        super().__init__(name, opts, args=args, context=context)
        chain = None
        if args.issuer is None:
            chain = SelfSignedCAChain(f"{name}-ca", args.chain_args(), self.child_opts(), context=self.context)
        issuer_ref = args.issuer_ref(name)
        leaf = resources.certificate(
            self.child_name("certificate"),
            name=args.certificate_name,
            namespace=args.namespace,
            spec=CertificateSpec(
                secret_name=args.certificate_name,
                issuer_ref=issuer_ref,
                dns_names=args.dns_names(),
                ip_addresses=["127.0.0.1"],
                duration=args.duration,
                private_key=args.private_key,
                usages=["digital signature", "key encipherment", "server auth"],
            ),
            wait_ready=True,
            opts=self.child_opts(chain),
        )

        tls: dict[str, Any] = {
            "certSecret": {"name": args.certificate_name, "key": "tls.crt"},
            "keySecret": {"name": args.certificate_name, "key": "tls.key"},
        }
        patches = []
        selected = list(args.components.selected())
        checked = pulumi.Output.all(*[self._installed_crd(c).spec for c in selected]).apply(
            lambda crds: self._checked_layouts(crds, selected, args)
        )
        for component in selected:
            kind, path = KINDS[component], args.tls_path(component)
            patches.append(
                k8s.apiextensions.CustomResourcePatch(
                    self.child_name(f"{APPS[component]}-tls"),
                    api_version=API_VERSION,
                    kind=kind,
                    metadata={"name": args.instance, "namespace": args.namespace, "annotations": dict(FIELD_MANAGER)},
                    spec=checked.apply(lambda _, path=path: _nested(path, tls)),
                    opts=self.child_opts(leaf),
                )
            )

        changes: pulumi.Output[list[str]] = pulumi.Output.from_input([])
        ks = args.kubesphere
        if ks is not None:
            if not ks.verify:
                pulumi.log.warn(
                    f"WhizardTLS {name!r}: KubeSphere skips verification of Whizard's certificate "
                    "(insecureSkipVerify: true): anyone who can answer for the service name can read its queries",
                    resource=self,
                )
            mount_after: list[pulumi.Resource] = []
            if ks.verify:
                client = resources.certificate(
                    self.child_name("kubesphere-client"),
                    name=ks.client_secret_name,
                    namespace=ks.namespace,
                    spec=CertificateSpec(
                        secret_name=ks.client_secret_name,
                        issuer_ref=issuer_ref,
                        common_name="ks-apiserver",
                        duration=args.duration,
                        private_key=args.private_key,
                        usages=["digital signature", "key encipherment", "client auth"],
                    ),
                    wait_ready=True,
                    opts=self.child_opts(chain),
                )
                volume = {"name": "whizard-tls", "secret": {"secretName": ks.client_secret_name}}
                mount = {"name": "whizard-tls", "mountPath": ks.ca_mount_path, "readOnly": True}
                deployment = f"{ks.namespace}/{ks.apiserver_deployment}"
                live_apiserver = k8s.apps.v1.Deployment.get(
                    self.child_name("apiserver-live"), deployment, opts=pulumi.ResourceOptions(parent=self)
                )
                mount_after.append(
                    k8s.apps.v1.DeploymentPatch(
                        self.child_name("apiserver-mount"),
                        metadata={
                            "name": ks.apiserver_deployment,
                            "namespace": ks.namespace,
                            "annotations": dict(FIELD_MANAGER),
                        },
                        spec=live_apiserver.spec.apply(
                            lambda live: mount_patch_spec(live, ks.apiserver_container, volume, mount)
                        ),
                        opts=self.child_opts(client),
                    )
                )
            # The live document is read at deploy time (it holds KubeSphere's own secrets, e.g. jwtSecret: kept
            # secret in state), edited minimally, and written back with server-side apply.
            live = k8s.core.v1.ConfigMap.get(
                self.child_name("kubesphere-config-live"),
                f"{ks.namespace}/{ks.config_map}",
                # The provider also returns the object as `__inputs` (its last-applied view): secret too, or
                # KubeSphere's jwtSecret lands in the state file in plain text (tests/e2e/test_whizard_seed.py).
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["data", "__inputs"]),
            )
            endpoint, client_tls, key = args.endpoint, args.tls_client_config(), ks.config_key
            edited = live.data.apply(lambda data: point_at_https((data or {}).get(key, ""), endpoint, client_tls))
            k8s.core.v1.ConfigMapPatch(
                self.child_name("kubesphere-config"),
                metadata={
                    "name": ks.config_map,
                    "namespace": ks.namespace,
                    # KubeSphere's installer owns this key: taking it over needs force (pulumi-kubernetes Patch docs).
                    "annotations": {**FIELD_MANAGER, "pulumi.com/patchForce": "true"},
                },
                data={key: pulumi.Output.secret(edited.apply(lambda pair: pair[0]))},
                # patchForce moves the key from KubeSphere's installer to this patch, so deleting the patch (which
                # gives its fields up) would delete the whole document, as the real-engine tier showed
                # (tests/e2e/test_whizard_seed.py): `pulumi destroy` leaves it as last written instead.
                opts=pulumi.ResourceOptions.merge(
                    self.child_opts(*patches, *mount_after), pulumi.ResourceOptions(retain_on_delete=True)
                ),
            )
            # The change itself is what we wrote (endpoints and TLS settings), not KubeSphere's secrets.
            changes = pulumi.Output.unsecret(edited.apply(lambda pair: [c.line() for c in pair[1]]))

        self.issuer_ref = issuer_ref
        self.secret = leaf.spec.apply(
            lambda spec: {
                "name": spec["secretName"],
                "namespace": args.namespace,
                "keys": ["tls.crt", "tls.key", "ca.crt"],
            }
        )
        self.issuer = pulumi.Output.from_input(issuer_ref.manifest())
        self.patched = pulumi.Output.all(*[p.id for p in patches]).apply(
            lambda _: [f"{KINDS[c]}/{args.namespace}/{args.instance}" for c in args.components.selected()]
        )
        self.endpoints = pulumi.Output.from_input(
            {"monitoring": args.endpoint, "thanosRuler": args.endpoint} if ks is not None else {}
        )
        self.kubesphere_config_changes = changes
        self.insecure = pulumi.Output.from_input(ks is not None and not ks.verify)
        self.register_outputs(
            {
                "secret": self.secret,
                "issuer": self.issuer,
                "patched": self.patched,
                "endpoints": self.endpoints,
                "kubesphere_config_changes": self.kubesphere_config_changes,
                "insecure": self.insecure,
                # for the preflight rules: which layout the patches must use
                "whizard_version": pulumi.Output.from_input(args.whizard_version),
            },
            known={
                "issuer": issuer_ref,
                "secret": {
                    "name": args.certificate_name,
                    "namespace": args.namespace,
                    "keys": ["tls.crt", "tls.key", "ca.crt"],
                },
            },
        )
