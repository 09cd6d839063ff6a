"""A readable table of what a stack would create: type, name, parent, Kubernetes object, key fields."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .components.names import BUILT_IN_NAMESPACES
from .manifests import RELEASE_TYPE, redact
from .mockrun import Evaluation, Registration, Secret


def _short_type(reg: Registration) -> str:
    package, module, kind = (reg.type.split(":") + ["", ""])[:3]
    if package == "kubernetes" and reg.type != RELEASE_TYPE:
        return f"{kind} ({module})"
    if reg.type == RELEASE_TYPE:
        return "helm Release"
    if package == "pulumi" and module == "providers":
        return f"provider {kind}"
    return kind or reg.type


def _issuer_details(spec: dict[str, Any]) -> str:
    if "selfSigned" in spec:
        return "selfSigned"
    if "ca" in spec:
        return f"ca secret={spec['ca'].get('secretName')}"
    if "acme" in spec:
        acme = spec["acme"]
        kinds = sorted({k for s in acme.get("solvers", []) for k in s if k != "selector"})
        return f"acme server={acme.get('server')} solvers={','.join(kinds)}"
    return ",".join(sorted(spec))


def _details(reg: Registration) -> str:
    inputs = redact(reg.inputs)
    kind = inputs.get("kind")
    spec = inputs.get("spec") or {}
    if not isinstance(spec, dict):
        return "spec=[secret]"
    if reg.type == RELEASE_TYPE:
        return f"chart={inputs.get('chart')}@{inputs.get('version')}"
    if kind == "Certificate":
        ref = spec.get("issuerRef", {})
        parts = [f"secret={spec.get('secretName')}", f"issuer={ref.get('kind', 'Issuer')}/{ref.get('name')}"]
        if spec.get("isCA"):
            parts.append("isCA")
        if spec.get("dnsNames"):
            parts.append("dns=" + ",".join(spec["dnsNames"]))
        if spec.get("ipAddresses"):
            parts.append("ip=" + ",".join(spec["ipAddresses"]))
        if spec.get("duration"):
            parts.append(f"duration={spec['duration']}")
        return " ".join(parts)
    if kind in ("Issuer", "ClusterIssuer"):
        return _issuer_details(spec)
    if kind in ("ConfigMap", "Secret"):
        # Key names are not secret; their values are (a Secret's data arrives wrapped as a whole).
        keys: set[str] = set()
        for field in ("data", "stringData"):
            value = reg.inputs.get(field) or {}
            value = value.reveal() if isinstance(value, Secret) else value
            keys |= set(value) if isinstance(value, dict) else set()
        return "keys=" + ",".join(sorted(keys))
    return ""


def _object_name(reg: Registration) -> str:
    inputs = redact(reg.inputs)
    metadata = inputs.get("metadata") or {}
    if not isinstance(metadata, dict):
        return "[secret]"
    if reg.type == RELEASE_TYPE:
        return f"{inputs.get('namespace', 'default')}/{inputs.get('name', reg.name)}"
    if "name" not in metadata:
        return ""
    return f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"]


def ordered(evaluation: Evaluation) -> list[tuple[int, Registration]]:
    """Depth-first by parent, siblings by name: stable whatever order registrations arrived in."""
    children: dict[str, list[Registration]] = {}
    urns = {r.urn for r in evaluation.registrations}
    for reg in evaluation.registrations:
        children.setdefault(reg.parent if reg.parent in urns else "", []).append(reg)
    rows: list[tuple[int, Registration]] = []

    def walk(parent: str, depth: int) -> None:
        for reg in sorted(children.get(parent, []), key=lambda r: (r.name, r.type)):
            rows.append((depth, reg))
            walk(reg.urn, depth + 1)

    walk("", 0)
    return rows


def namespace_origins(evaluation: Evaluation) -> dict[str, str]:
    """Every namespace the stack writes into, and how it comes to exist."""
    created, by_release, used = {}, {}, set()
    for reg in evaluation.registrations:
        inputs = redact(reg.inputs)
        metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), dict) else {}
        if reg.type == "kubernetes:core/v1:Namespace":
            created[metadata.get("name") or Secret.MARKER] = reg.name
        elif reg.type == RELEASE_TYPE:
            namespace = inputs.get("namespace", "default")
            used.add(namespace)
            if inputs.get("createNamespace"):
                by_release[namespace] = inputs.get("name", reg.name)
        elif reg.custom and reg.type.startswith("kubernetes:"):
            namespace = metadata.get("namespace")
            if isinstance(namespace, str) and namespace != Secret.MARKER:
                used.add(namespace)
    origins = {}
    for namespace in sorted(used | set(created)):
        if namespace in created:
            origins[namespace] = f"created by this stack (Namespace {created[namespace]})"
        elif namespace in by_release:
            origins[namespace] = f"created by Helm release {by_release[namespace]}"
        elif namespace in BUILT_IN_NAMESPACES:
            origins[namespace] = "built in"
        else:
            origins[namespace] = (
                "must already exist (not created by this program; a stack declares it in namespaces.existing)"
            )
    return origins


def _one_line(value: Any, width: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def preview_table(evaluation: Evaluation, stack: str) -> str:
    names = {r.urn: r.name for r in evaluation.registrations}
    header = ("TYPE", "NAME", "PARENT", "OBJECT", "DETAILS")
    rows = [
        (
            "  " * depth + _short_type(reg),
            reg.name,
            names.get(reg.parent, "-"),
            _object_name(reg) or "-",
            _details(reg) or "-",
        )
        for depth, reg in ordered(evaluation)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [f"Previewing stack {stack!r} offline (Pulumi mock runtime, nothing is sent to a cluster)", ""]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    counts = Counter(_short_type(reg) for reg in evaluation.registrations)
    summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    lines += ["", "Namespaces written into:"]
    lines += [f"  {namespace}: {origin}" for namespace, origin in namespace_origins(evaluation).items()]
    exports = redact(evaluation.stack_outputs())
    if exports:
        lines += ["", "Stack outputs (pulumi.export; whole values in `render`'s stack/outputs.yaml):"]
        lines += [f"  {name}: {_one_line(value)}" for name, value in exports.items()]
    lines += ["", f"{len(evaluation.registrations)} resources to create: {summary}"]
    warnings = [log for log in evaluation.logs if log.startswith(("warning", "error"))]
    lines += warnings
    return "\n".join(lines) + "\n"


def preview_json(evaluation: Evaluation, stack: str, findings: list[dict[str, Any]]) -> str:
    """The preview as one JSON document: the table's rows, the namespaces, the exports and the preflight findings."""
    names = {r.urn: r.name for r in evaluation.registrations}
    document = {
        "stack": stack,
        "resources": [
            {
                "type": reg.type,
                "name": reg.name,
                "parent": names.get(reg.parent),
                "depth": depth,
                "object": _object_name(reg) or None,
                "details": _details(reg) or None,
            }
            for depth, reg in ordered(evaluation)
        ],
        "namespaces": namespace_origins(evaluation),
        "outputs": redact(evaluation.stack_outputs()),
        "counts": dict(sorted(Counter(_short_type(reg) for reg in evaluation.registrations).items())),
        "warnings": [log for log in evaluation.logs if log.startswith(("warning", "error"))],
        "findings": findings,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
