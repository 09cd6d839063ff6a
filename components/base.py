"""What every cluster-tls component shares: its type token, its context, its plan, how children are ordered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from .context import ClusterContext
from .model import Spec
from .plan import ObjectClaim, PlanError
from .secret_guard import guard_outputs

PACKAGE = "cluster-tls"


class ComponentArgs(Spec):
    """Args of a component: validated alone by pydantic, then against the stack's context by `problems`."""

    def problems(self, context: ClusterContext) -> list[str]:
        """What cannot work in this context (e.g. a CA Secret where the ClusterIssuer never looks)."""
        return []

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        """Every Kubernetes object the component `name` will create, or that a chart creates for it."""
        return []

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
        self.context = context if context is not None else ClusterContext()
        # A component built inside another (HubbleTLS's CA chain) was planned and recorded by its parent.
        nested = opts is not None and isinstance(opts.parent, TLSComponent)
        if args is not None and not nested:
            self.context.ledger.add(args.check(name, self.context))
        super().__init__(f"{PACKAGE}:index:{type(self).__name__}", name, None, opts)
        depends_on = (opts.depends_on if opts else None) or []
        self._ordering: list[pulumi.Resource] = list(depends_on) if isinstance(depends_on, Sequence) else [depends_on]

    def child_opts(self, *after: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=self._ordering + [r for r in after if r is not None])

    def register_outputs(self, outputs: dict[str, Any]) -> None:
        # A value that came from secret config stays secret in the component's outputs too.
        self.outputs = guard_outputs(outputs)
        super().register_outputs(self.outputs)


__all__ = ["ComponentArgs", "PlanError", "TLSComponent"]
