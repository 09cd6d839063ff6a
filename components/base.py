"""What every cluster-tls component shares: its type token and how its children are ordered."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

PACKAGE = "cluster-tls"


class TLSComponent(pulumi.ComponentResource):
    """Base for the package's components: `cluster-tls:index:<ClassName>`.

    The SDK does not give a component's children its `depends_on` (checked on the mock runtime), so
    the caller's ordering, typically "after cert-manager is installed and its webhook answers", is
    handed on explicitly to every child through `child_opts`.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None):
        super().__init__(f"{PACKAGE}:index:{type(self).__name__}", name, None, opts)
        depends_on = (opts.depends_on if opts else None) or []
        self._ordering: list[pulumi.Resource] = list(depends_on) if isinstance(depends_on, Sequence) else [depends_on]

    def child_opts(self, *after: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=self._ordering + [r for r in after if r is not None])
