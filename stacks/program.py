"""The stack program: read this stack's typed config and build the components it enables.

`__main__.py` (the real `pulumi up`) and `cluster-tls preview/render` (the mock runtime) both call `main`.
Adding a component is one line in COMPONENTS: planning, collision and namespace checks, ordering and
exports are the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from cluster_tls.components import secret_guard
from cluster_tls.components.base import TYPE_PREFIX, ComponentArgs, TLSComponent
from cluster_tls.components.certmanager.install import CertManagerInstall
from cluster_tls.components.context import ClusterContext
from cluster_tls.components.dnspod import DnspodWildcard
from cluster_tls.components.hubble import HubbleTLS
from cluster_tls.components.istio_gateway import IstioHTTPSGateway
from cluster_tls.components.links import LinkError, Provided
from cluster_tls.components.model import ArgsError, validation_problems
from cluster_tls.components.plan import ClaimLedger, ObjectClaim, PlanError
from cluster_tls.components.selfsigned_ca import SelfSignedCAChain
from cluster_tls.components.whizard import WhizardTLS

from .config import BUILT_IN_NAMESPACES, LoadedStack, StackConfig, key_path, load_stack


@dataclass(frozen=True)
class StackComponent:
    field: str  # StackConfig field; its config key is the camelCase alias
    name: str  # Pulumi logical name
    component: type[TLSComponent]

    def key(self) -> str:
        return key_path([StackConfig.model_fields[self.field].alias or self.field])


# In build order: a component may use what an earlier one creates (an issuer, a Secret).
COMPONENTS = (
    StackComponent("private_ca", "private-ca", SelfSignedCAChain),
    StackComponent("dnspod", "dnspod", DnspodWildcard),
    StackComponent("whizard", "whizard", WhizardTLS),
    StackComponent("istio_gateway", "istio-gateway", IstioHTTPSGateway),
    StackComponent("hubble", "hubble", HubbleTLS),
)


def config_key_of(urn: str) -> str | None:
    """The stack-file key whose section made the resource at `urn` (where a SARIF result points), if any."""
    parts = urn.split("::")
    # The type chain, outermost first; the root stack is not in it (resources parented to it start the chain).
    chain = [t for t in parts[2].split("$") if t != "pulumi:pulumi:Stack"] if len(parts) >= 4 else []
    outermost = chain[0] if chain else ""
    for entry in COMPONENTS:
        if outermost == f"{TYPE_PREFIX}{entry.component.__name__}":
            return entry.key()
    if outermost == f"{TYPE_PREFIX}{CertManagerInstall.__name__}":
        return key_path(["certManager"])
    if outermost == "kubernetes:core/v1:Namespace":
        return key_path(["namespaces"])
    return None


@dataclass
class StackPlan:
    claims: dict[str, list[ObjectClaim]]  # component name -> its claims
    namespaces: dict[str, str]  # namespace -> how it comes to exist

    def owner_of(self, kind: str, namespace: str | None, name: str) -> str | None:
        for component, claims in self.claims.items():
            if any(c.key == (kind, namespace, name) for c in claims):
                return component
        return None


def _enabled(config: StackConfig) -> list[tuple[StackComponent, ComponentArgs]]:
    return [(entry, getattr(config, entry.field)) for entry in COMPONENTS if getattr(config, entry.field) is not None]


def link_components(loaded: LoadedStack, context: ClusterContext) -> list[tuple[StackComponent, ComponentArgs]]:
    """Each component's args with `issuerFrom` / `certificateFrom` resolved to what earlier components provide."""
    providers: dict[str, Provided] = {}
    linked, problems = [], []
    for entry, args in _enabled(loaded.config):
        try:
            args = args.link(providers)
        except LinkError as error:
            problems.append(f"{entry.key()}: {error}")
            continue
        except ArgsError as error:
            problems += [
                f"{entry.key()}{'.' if path else ''}{path}: {message}"
                for path, message, _ in validation_problems(error)
            ]
            continue
        providers[entry.key().split(":", 1)[1]] = args.provides(entry.name, context)
        linked.append((entry, args))
    if problems:
        raise loaded.error(problems)
    return linked


def plan_stack(
    loaded: LoadedStack, context: ClusterContext, components: list[tuple[StackComponent, ComponentArgs]]
) -> StackPlan:
    """Check every component against the context, each other and the namespaces, before registering anything."""
    config = loaded.config
    problems: list[str] = []
    ledger = ClaimLedger()
    claims: dict[str, list[ObjectClaim]] = {}
    for entry, args in components:
        owned = []
        try:
            owned = args.check(entry.name, context)
            ledger.add(owned)
        except PlanError as error:
            problems += [f"{entry.key()}: {p}" for p in error.problems]
        claims[entry.name] = owned

    namespaces = {ns: "built in" for ns in BUILT_IN_NAMESPACES}
    if config.cert_manager.install:
        namespaces[config.cert_manager.namespace] = "created by the cert-manager Helm release"
    namespaces.update({ns: "declared existing (must exist before `pulumi up`)" for ns in config.namespaces.existing})
    namespaces.update({ns: "created by this stack" for ns in config.namespaces.create})
    for entry, _ in components:
        for claim in claims[entry.name]:
            if claim.namespace is not None and claim.namespace not in namespaces:
                problems.append(
                    f"{entry.key()}: namespace {claim.namespace!r} ({claim.describe()}, {claim.owner}) is neither "
                    f"created by this stack nor declared existing: add it to {key_path(['namespaces', 'create'])} "
                    f"or {key_path(['namespaces', 'existing'])}"
                )
                namespaces[claim.namespace] = "missing"
    names = sorted(
        {n for owned in claims.values() for c in owned for n in (c.name, c.namespace or "")} | set(namespaces)
    )
    problems += loaded.secrets_in_names(names)
    if problems:
        raise loaded.error(problems)
    return StackPlan(claims, namespaces)


def _provider_opts(config: StackConfig) -> pulumi.ResourceOptions:
    settings = config.kubernetes
    if not settings.explicit:
        return pulumi.ResourceOptions()
    kubeconfig = settings.kubeconfig
    provider = k8s.Provider(
        "kubernetes",
        context=settings.context,
        kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
    )
    return pulumi.ResourceOptions(providers=[provider])


def build(loaded: LoadedStack) -> dict[str, pulumi.Resource]:
    config = loaded.config
    # First: every name derived from config (linked references between components, claims, objects) is then
    # derived with the secrets known, so a name made from a secret is the same digest everywhere (issue 27).
    guard = secret_guard.install(loaded.guard.secrets)
    context = config.context()
    components = link_components(loaded, context)
    plan = plan_stack(loaded, context, components)
    base = _provider_opts(config)
    built: dict[str, pulumi.Resource] = {}
    after_cert_manager: list[pulumi.Resource] = []
    if config.cert_manager.install:
        built["cert-manager"] = CertManagerInstall("cert-manager", config.cert_manager_args(), base)
        after_cert_manager = [built["cert-manager"]]
    created = {
        ns: k8s.core.v1.Namespace(secret_guard.resource_name("namespace", ns), metadata={"name": ns}, opts=base)
        for ns in config.namespaces.create
    }

    for entry, args in components:
        claims = plan.claims[entry.name]
        needs = [created[ns] for ns in sorted({c.namespace for c in claims if c.namespace in created})]
        providers = sorted({owner for use in args.uses() if (owner := plan.owner_of(*use)) and owner != entry.name})
        opts = pulumi.ResourceOptions.merge(
            base, pulumi.ResourceOptions(depends_on=after_cert_manager + needs + [built[p] for p in providers])
        )
        component = entry.component(entry.name, args, opts, context=context)
        built[entry.name] = component
        pulumi.export(StackConfig.model_fields[entry.field].alias, guard.wrap(component.outputs))
    return built


class StackProgramError(pulumi.RunError):
    """The program failed; the message has every secret value of the stack's config replaced by [secret]."""


def main() -> dict[str, pulumi.Resource]:
    loaded = load_stack()
    try:
        return build(loaded)
    except Exception as error:
        message = loaded.guard.redact(str(error))
        if message == str(error):
            raise
        raise StackProgramError(message) from None
