"""What every cluster-tls component shares: its type token, its context, its plan, how children are ordered."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pulumi

from .context import ClusterContext
from .model import Spec
from .names import child_name
from .plan import ObjectClaim, PlanError
from .secret_guard import active, guard_outputs

PACKAGE = "cluster-tls"


class ComponentArgs(Spec):
    """Args of a component: validated alone by pydantic, then against the stack's context by `problems`."""

    def problems(self, context: ClusterContext) -> list[str]:
        """What cannot work in this context (e.g. a CA Secret where the ClusterIssuer never looks)."""
        return []

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        """Every Kubernetes object the component `name` will create, or that a chart creates for it."""
        return []

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
        self.context = context if context is not None else ClusterContext()
        # A component built inside another (HubbleTLS's CA chain) was planned and recorded by its parent.
        nested = opts is not None and isinstance(opts.parent, TLSComponent)
        if args is not None and not nested:
            self.context.ledger.add(args.check(name, self.context))
        super().__init__(f"{PACKAGE}:index:{type(self).__name__}", name, None, opts)
        self._resource_name = name
        depends_on = (opts.depends_on if opts else None) or []
        self._ordering: list[pulumi.Resource] = list(depends_on) if isinstance(depends_on, Sequence) else [depends_on]

    def child_name(self, role: str, *parts: str) -> str:
        """`<component>-<role>-<parts>`: the Pulumi name of a child named after config values (an Ingress, a
        namespace). A resource name (URN) can never be secret, so parts that hold a secret value are replaced by
        a digest of them: stable across runs, and the value stays out of state, previews and renders."""
        guard = active()
        if parts and guard is not None and guard.contains(list(parts)):
            return child_name(
                self._resource_name, f"{role}-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:12]}"
            )
        return child_name(self._resource_name, "-".join([role, *parts]))

    def child_opts(self, *after: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=self._ordering + [r for r in after if r is not None])

    def register_outputs(self, outputs: dict[str, Any]) -> None:
        # A value that came from secret config stays secret in the component's outputs too.
        self.outputs = guard_outputs(outputs)
        super().register_outputs(self.outputs)


__all__ = ["ComponentArgs", "PlanError", "TLSComponent"]
