"""The preflight rules as Pulumi policies (pulumi-policy), for users of the real CLI:
`pulumi preview --policy-pack policy/`. Rules that decide from one object are resource policies; the others
see the whole stack through a stack policy. This module has no import of pulumi_policy: the pack's
`policy/__main__.py` wires these functions into a PolicyPack, and the tests call them with plain objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..components.base import TYPE_PREFIX
from . import rules as _rules  # noqa: F401 - registers the rules
from .engine import RULES, Rule, run_rules
from .view import Obj, Release, StackView, Unknown, add_component_outputs

NOT_INPUTS = {"kubernetes:core/v1:Secret", "kubernetes:core/v1:SecretPatch"}  # their data is secret by design
UNKNOWN = "[unknown]"  # a value `pulumi preview` cannot know yet


def _unknown_error() -> type[Exception]:
    try:
        from pulumi_policy.proxy import UnknownValueError
    except ImportError:  # called with plain data (the tests, `cluster-tls check`)
        return LookupError
    return UnknownValueError


def plain(value: Any, unknown: type[Exception] | None = None) -> Any:
    """Plain dicts and lists of pulumi-policy's props.

    The runtime hands read-only proxies, `_DictProxy(Mapping)` and `_ListProxy(Sequence)`, whose unknown values
    raise UnknownValueError when read (pulumi_policy/proxy.py, 1.21.0); the rules test for dict and list, so
    unconverted every spec would read as empty.
    """
    unknown = unknown or _unknown_error()
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key], unknown)
            except unknown:
                out[key] = Unknown(UNKNOWN)
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index], unknown))
            except unknown:
                items.append(Unknown(UNKNOWN))
        return items
    return value


def _object(resource_type: str, props: dict[str, Any], urn: str, name: str) -> Obj | Release | None:
    if not resource_type.startswith("kubernetes:"):
        return None
    if resource_type == "kubernetes:helm.sh/v3:Release":
        return Release(
            props.get("chart", ""),
            props.get("name") or name,
            props.get("namespace") or "default",
            props.get("values") or {},
            name,
            urn,
            props.get("version") or None,
        )
    api_version, _, kind = resource_type.removeprefix("kubernetes:").rpartition(":")
    metadata = props.get("metadata") or {}
    source = "patch" if kind.endswith("Patch") else "program"
    return Obj(
        api_version,
        kind.removesuffix("Patch"),
        metadata.get("namespace"),
        metadata.get("name", name),
        dict(props),
        name,
        urn,
        source,
    )


def view_from_policy_resources(resources: Iterable[Any], stack_tags: dict[str, str] | None = None) -> StackView:
    """A StackView of pulumi-policy's `StackValidationArgs.resources` (PolicyResource: resource_type, props, urn,
    name, parent, dependencies)."""
    production = (stack_tags or {}).get("production")
    view = StackView(production=None if production is None else production == "true")
    for resource in resources:
        props = plain(resource.props)
        if resource.resource_type.startswith(TYPE_PREFIX):
            # The engine hands a component with its registered outputs (AnalyzeStack runs on every resource's
            # outputs: pulumi/pulumi pkg/resource/deploy/step_generator.go, "the final outputs of each resource").
            add_component_outputs(view, resource.name, props)
        item = _object(resource.resource_type, props, resource.urn, resource.name)
        if isinstance(item, Release):
            view.releases.append(item)
        elif isinstance(item, Obj):
            view.objects.append(item)
        depends = {getattr(d, "urn", d) for d in (resource.dependencies or [])}
        if getattr(resource, "parent", None) is not None:
            depends.add(getattr(resource.parent, "urn", resource.parent))
        view.dependencies[resource.urn] = depends
        if resource.resource_type not in NOT_INPUTS:
            view.plain_inputs[resource.name] = props
    return view


def stack_validator(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        view = view_from_policy_resources(args.resources, getattr(args, "stack_tags", None))
        urns = {o.describe(): o.urn for o in view.objects}
        for finding in run_rules(view, rules=[rule]):
            report_violation(f"{finding.rule}: {finding.object}: {finding.message}", urns.get(finding.object))

    return validate


def resource_validator(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        item = _object(args.resource_type, plain(args.props), args.urn, args.name)
        if not isinstance(item, Obj):
            return
        for finding in run_rules(StackView(objects=[item]), rules=[rule]):
            report_violation(f"{finding.rule}: {finding.message}")

    return validate


def policies() -> list[dict[str, Any]]:
    """One policy per rule: name, description, enforcement ('mandatory' for errors), kind and validate function."""
    return [
        {
            "name": f"cluster-tls-{r.id.lower()}",
            "description": r.title,
            "enforcement": "mandatory" if r.severity == "error" else "advisory",
            "kind": "resource" if r.per_object else "stack",
            "validate": resource_validator(r) if r.per_object else stack_validator(r),
        }
        for r in RULES
    ]


def pulumi_policies() -> list[Any]:
    """`policies()` as pulumi-policy objects (Resource/StackValidationPolicy), for a PolicyPack: imported only where
    pulumi-policy is installed (the pack's own virtual environment, policy/requirements.txt)."""
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

    levels = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}
    return [
        (ResourceValidationPolicy if p["kind"] == "resource" else StackValidationPolicy)(
            name=p["name"],
            description=p["description"],
            validate=p["validate"],
            enforcement_level=levels[p["enforcement"]],
        )
        for p in policies()
    ]
