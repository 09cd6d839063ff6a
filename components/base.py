"""What every cluster-tls component shares: its type token, its context, its plan, how children are ordered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from . import inputs
from .context import ClusterContext, program_default
from .links import LinkError, Provided
from .model import Spec
from .names import child_name
from .plan import ObjectClaim, PlanError
from .secret_guard import guard_outputs, resource_name

PACKAGE = "cluster-tls"
TYPE_PREFIX = f"{PACKAGE}:index:"  # every component's type token: cluster-tls:index:<ClassName>


class ComponentArgs(Spec):
    """Args of a component: validated alone by pydantic, then against the stack's context by `problems`."""

    def problems(self, context: ClusterContext) -> list[str]:
        """What cannot work in this context (e.g. a CA Secret where the ClusterIssuer never looks)."""
        return []

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        """Every Kubernetes object the component `name` will create, or that a chart creates for it."""
        return []

    def provides(self, name: str, context: ClusterContext) -> Provided:
        """What this component offers the next ones (an issuer, a certificate Secret)."""
        return Provided()

    def link(self, providers: dict[str, Provided]) -> ComponentArgs:
        """These args with every `*From` link replaced by the provider's reference (see components/links.py)."""
        updates: dict[str, Any] = {}
        for field, target, what in self.links():
            source = getattr(self, field)
            if source is None:
                continue
            alias = type(self).model_fields[field].alias or field
            provided = providers.get(source)
            value = getattr(provided, what, None) if provided is not None else None
            if value is None:
                offered = sorted(k for k, p in providers.items() if getattr(p, what, None) is not None)
                raise LinkError(
                    f"{alias} {source!r}: no component of this stack before this one provides {what} "
                    f"(those that do: {', '.join(offered) or 'none'})"
                )
            updates[target] = self.linked_value(target, value)
            updates[field] = None
        if not updates:
            return self
        # exclude_unset: what the user left to its default stays unset (a chart mirror replaces only repositories
        # nobody set, components/helm.py chart_source)
        return type(self).model_validate(
            {**self.model_dump(mode="python", by_alias=False, exclude_unset=True), **updates}
        )

    def links(self) -> list[tuple[str, str, str]]:
        """(link field, field it fills, what it takes: 'issuer' or 'certificate')."""
        return []

    def linked_value(self, target: str, value: Any) -> Any:
        return value

    def cert_manager_defaults(self) -> dict[str, Any]:
        """CertManagerInstallArgs settings this component needs, applied by a stack where the user left them unset."""
        return {}

    def uses(self) -> list[tuple[str, str | None, str]]:
        """Objects (kind, namespace, name) the component relies on but does not create, e.g. a given issuer."""
        return []

    def check(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        """Raise PlanError listing every problem, collisions within the component included; else the claims."""
        problems = self.problems(context)
        claims = self.claims(name, context) if not problems else []
        problems += context.ledger.collisions(claims)
        if problems:
            raise PlanError(problems)
        return claims


class TLSComponent(pulumi.ComponentResource):
    """Base for the package's components: `cluster-tls:index:<ClassName>`.

    Before any child is registered, the args are checked against the context and the component's objects
    are recorded in the context's ledger: a collision with another component of the same program is refused,
    naming both owners. The SDK does not give a component's children its `depends_on` (checked on the mock
    runtime), so the caller's ordering, typically "after cert-manager is installed and its webhook
    answers", is handed on explicitly to every child through `child_opts`.
    """

    def __init__(
        self,
        name: str,
        opts: pulumi.ResourceOptions | None,
        *,
        args: ComponentArgs | None = None,
        context: ClusterContext | None = None,
    ):
        self.context = context if context is not None else program_default()
        # A component built inside another (HubbleTLS's CA chain) was planned and recorded by its parent.
        nested = opts is not None and isinstance(opts.parent, TLSComponent)
        if args is not None and not nested:
            self.context.ledger.add(args.check(name, self.context))
        super().__init__(f"{TYPE_PREFIX}{type(self).__name__}", name, None, opts)
        self._resource_name = name
        depends_on = (opts.depends_on if opts else None) or []
        self._ordering: list[pulumi.Resource] = list(depends_on) if isinstance(depends_on, Sequence) else [depends_on]
        # Args given another component's outputs take their values, so the dependency the Output carried is
        # kept here: this component's children come after that component.
        self._ordering += [r for r in (args.given_by() if args is not None else []) if r not in self._ordering]

    def child_name(self, role: str, *parts: str) -> str:
        """`<component>-<role>-<parts>`: the Pulumi name of a child named after config values (an Ingress, a
        namespace); secret parts become a digest (secret_guard.resource_name)."""
        return resource_name(child_name(self._resource_name, role), *parts)

    def child_opts(self, *after: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=self._ordering + [r for r in after if r is not None])

    def register_outputs(self, outputs: dict[str, Any], *, known: dict[str, Any] | None = None) -> None:
        """`known`: the values some of these outputs (attributes of the component) will resolve to, which args of
        another component given those outputs take at once (components/inputs.py)."""
        for attribute, value in (known or {}).items():
            inputs.known_output(getattr(self, attribute), value, self, attribute)
        # A value that came from secret config stays secret in the component's outputs too.
        self.outputs = guard_outputs(outputs)
        super().register_outputs(self.outputs)


__all__ = ["ComponentArgs", "PlanError", "TLSComponent"]
