"""Whether the Whizard installed in the cluster reads TLS where `whizardVersion` says it does.

The layout moved in v0.10.0 (spec.httpServerTLSConfig -> spec.webConfig.httpServerTLSConfig, WizTelemetry/whizard
PR #441); a patch at the path the installed CRDs do not have is pruned by the API server without an error, and
the resource keeps serving plain HTTP (issue 19; tests/e2e/test_whizard_seed.py). Where the cluster can be read
(`pulumi preview` and `pulumi up` against it), WhizardTLS reads each resource's CustomResourceDefinition first and
refuses a version whose path its schema lacks. Offline there is no cluster: the read has no schema, and the version
is taken on trust, which the component says.
"""

from __future__ import annotations

from typing import Any

GROUP = "monitoring.whizard.io"
VERSION = "v1alpha1"
PLURALS = {"QueryFrontend": "queryfrontends", "Query": "queries", "Router": "routers", "Gateway": "gateways"}


def crd_name(kind: str) -> str:
    return f"{PLURALS[kind]}.{GROUP}"


def _field(obj: Any, snake: str, camel: str) -> Any:
    """A field of the CRD as the SDK hands it (typed outputs, snake_case) or as a plain mapping (camelCase)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(camel, obj.get(snake))
    return getattr(obj, snake, None)


def _spec_schema(crd_spec: Any) -> Any:
    for version in _field(crd_spec, "versions", "versions") or []:
        if _field(version, "name", "name") == VERSION:
            schema = _field(_field(version, "schema", "schema"), "open_apiv3_schema", "openAPIV3Schema")
            return ((_field(schema, "properties", "properties") or {}).get("spec")) if schema is not None else None
    return None


def has_path(crd_spec: Any, path: tuple[str, ...]) -> bool | None:
    """Whether the CRD's v1alpha1 schema keeps `spec.<path>`; None when there is no schema to read (offline)."""
    node = _spec_schema(crd_spec)
    if node is None:
        return None
    for part in path:
        if _field(node, "x_kubernetes_preserve_unknown_fields", "x-kubernetes-preserve-unknown-fields"):
            return True
        node = (_field(node, "properties", "properties") or {}).get(part)
        if node is None:
            return False
    return True


def wrong_layout(crd_spec: Any, kind: str, path: tuple[str, ...], version: str) -> str | None:
    """Why the installed CRD would drop a patch at `spec.<path>` (one line naming the field and the value), or None
    when it keeps it or cannot be read."""
    if has_path(crd_spec, path) is not False:
        return None
    other = ("httpServerTLSConfig",) if len(path) > 1 else ("webConfig", "httpServerTLSConfig")
    hint = (
        f"; its schema has spec.{'.'.join(other)}, so the installed Whizard is {'>=' if len(other) > 1 else '<'} v0.10"
        if has_path(crd_spec, other)
        else ""
    )
    return (
        f"whizardVersion {version!r} puts TLS at spec.{'.'.join(path)}, which the installed {kind} CRD "
        f"({crd_name(kind)} {VERSION}) does not have: the API server would drop it without an error and {kind} "
        f"would keep serving plain HTTP{hint}; set whizardVersion to the installed Whizard's version"
    )
