"""What the cluster holds against what `cluster-tls render` wrote: the offline-equals-real comparison."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.kube import Kube

SECRET = "[secret]"


def rendered_objects(render: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((render / "manifests").rglob("*.yaml"))]


def ident(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}".replace(" /", " ")


MERGE_KEYS = (
    "name",
    "mountPath",
    "containerPort",
)  # keys of Kubernetes' associative lists (x-kubernetes-list-map-keys)


def _merge_key(item: Any) -> tuple[str, Any] | None:
    return next(((k, item[k]) for k in MERGE_KEYS if isinstance(item, dict) and k in item), None)


def differences(rendered: Any, live: Any, path: str = "", partial: bool = False) -> list[str]:
    """Every field of the render must be in the cluster with the same value ([secret] stands for any value).

    `partial`: the render is a patch of an object others own too, so a list keyed by name holds more entries
    in the cluster; each rendered one must be there, matched by its key.
    """
    if rendered == SECRET:
        return []
    if partial and isinstance(rendered, list) and rendered and all(_merge_key(r) for r in rendered):
        if not isinstance(live, list):
            return [f"{path}: rendered a list, the cluster has {live!r}"]
        found = []
        for item in rendered:
            key = _merge_key(item)
            match = [v for v in live if _merge_key(v) == key]
            if not match:
                found.append(f"{path}[{key[0]}={key[1]}]: rendered, missing in the cluster")
            else:
                found += differences(item, match[0], f"{path}[{key[0]}={key[1]}]", partial)
        return found
    if isinstance(rendered, dict):
        if not isinstance(live, dict):
            return [f"{path or '.'}: rendered an object, the cluster has {live!r}"]
        found = []
        for key, value in rendered.items():
            if key not in live:
                found.append(f"{path}.{key}: rendered, missing in the cluster")
            else:
                found += differences(value, live[key], f"{path}.{key}", partial)
        return found
    if isinstance(rendered, list):
        if not isinstance(live, list) or len(live) != len(rendered):
            return [f"{path}: rendered {rendered!r}, the cluster has {live!r}"]
        pairs = enumerate(zip(rendered, live, strict=True))
        return [d for i, (r, v) in pairs for d in differences(r, v, f"{path}[{i}]", partial)]
    return [] if rendered == live else [f"{path}: rendered {rendered!r}, the cluster has {live!r}"]


def unrendered(fields: dict[str, Any], rendered: Any, path: str = "") -> list[str]:
    """Fields a manager owns in the cluster (managedFields' fieldsV1) that the render does not have."""
    if rendered == SECRET:
        return []
    found = []
    for key, sub in fields.items():
        if key == ".":
            continue
        kind, _, name = key.partition(":")
        if kind == "f":
            if not isinstance(rendered, dict) or name not in rendered:
                found.append(f"{path}.{name}")
            else:
                found += unrendered(sub, rendered[name], f"{path}.{name}")
        elif kind == "k":
            wanted = json.loads(name)
            match = (
                [e for e in rendered if isinstance(e, dict) and all(e.get(k) == v for k, v in wanted.items())]
                if isinstance(rendered, list)
                else []
            )
            if match:
                found += unrendered(sub, match[0], f"{path}[{name}]")
            else:
                found.append(f"{path}[{name}]")
        elif kind == "v":
            if not isinstance(rendered, list) or json.loads(name) not in rendered:
                found.append(f"{path}[{name}]")
        elif kind == "i":
            index = int(name)
            if not isinstance(rendered, list) or index >= len(rendered):
                found.append(f"{path}[{index}]")
            else:
                found += unrendered(sub, rendered[index], f"{path}[{index}]")
    return found


PATCH_MANAGER = "pulumi.com/patchFieldManager"


def pulumi_fields(live: dict[str, Any], manager: str | None = None) -> dict[str, Any]:
    """The fields the Kubernetes provider applied: with its own server-side-apply field manager, or for a patch the
    one the patch names (`pulumi.com/patchFieldManager`); main resource only."""
    merged: dict[str, Any] = {}
    for entry in live["metadata"].get("managedFields", []):
        name = entry.get("manager", "")
        if (name == manager if manager else name.startswith("pulumi-kubernetes")) and not entry.get("subresource"):
            _merge(merged, entry.get("fieldsV1", {}))
    return merged


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _as_stored(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret as the API server stores it: `stringData` is write-only, merged into `data` base64-encoded
    (core/v1 Secret docs)."""
    if obj.get("kind") != "Secret" or "stringData" not in obj:
        return obj
    import base64

    encoded = {
        k: v if v == SECRET else base64.b64encode(str(v).encode()).decode() for k, v in obj["stringData"].items()
    }
    return {**{k: v for k, v in obj.items() if k != "stringData"}, "data": {**obj.get("data", {}), **encoded}}


def compare_with_cluster(kube: Kube, render: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Problems (one line each) and the live objects, for every object the render wrote."""
    problems, lives = [], []
    for obj in map(_as_stored, rendered_objects(render)):
        meta = obj["metadata"]
        live = kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if live is None:
            problems.append(f"{ident(obj)}: rendered, not in the cluster")
            continue
        lives.append(live)
        patch_manager = (meta.get("annotations") or {}).get(PATCH_MANAGER)
        problems += [f"{ident(obj)} {d}" for d in differences(obj, live, partial=bool(patch_manager))]
        owned = pulumi_fields(live, patch_manager)
        identity_only = set(obj) <= {"apiVersion", "kind", "metadata"} and set(meta) <= {"name", "namespace"}
        if not owned and not identity_only:  # an apply of a bare name owns no field
            managers = sorted({e.get("manager", "?") for e in live["metadata"].get("managedFields", [])})
            problems.append(f"{ident(obj)}: no fields owned by the Kubernetes provider's field manager ({managers})")
        problems += [f"{ident(obj)} {p}: applied by Pulumi, not rendered" for p in unrendered(owned, obj)]
    return problems, lives


@dataclass(frozen=True)
class Prediction:
    """What `cluster-tls diff --against-dir` says a config change does: object -> field paths that change, and the
    secret fields that may (a render folder keeps no digest of a secret, so diff cannot tell)."""

    changed: dict[str, list[str]]
    maybe: dict[str, list[str]]


def predicted_changes(project, before: Path, after: Path) -> Prediction:
    """`cluster-tls diff --against-dir before` of the project's render now (`after`)."""
    predicted = project.offline("diff", "--stack", project.stack, "--against-dir", str(before), "--format", "json")
    assert predicted.returncode == 1, predicted.stdout + predicted.stderr  # differences
    changed: dict[str, list[str]] = {}
    maybe: dict[str, list[str]] = {}
    for file in json.loads(predicted.stdout)[project.stack]["files"]:
        if file["path"].startswith("manifests/"):
            assert file["status"] == "changed", file
            key = ident(yaml.safe_load((after / file["path"]).read_text()))
            for field in file["fields"]:
                uncertain = str(field.get("change", "")).startswith("may have changed")
                (maybe if uncertain else changed).setdefault(key, []).append(field["path"])
    assert changed, predicted.stdout
    return Prediction(changed, maybe)


def assert_preview_as_predicted(stack, prediction: Prediction) -> None:
    """`pulumi preview --diff` updates exactly the objects predicted to change, perhaps those whose secrets may,
    and in each exactly the predicted fields (a secret that may have changed: may be among them)."""
    from tests.e2e.engine import events_of

    changed, maybe = prediction.changed, prediction.maybe
    steps = events_of("resource_pre_event")
    stack.preview(diff=True, on_event=steps)
    updates = {}
    for event in steps.kept:
        meta = event.metadata
        if meta.op.value in ("same", "read"):
            continue
        assert meta.op.value == "update", (meta.urn, meta.op)
        updates[ident(meta.new.inputs)] = sorted(meta.detailed_diff or {})
    assert set(changed) <= set(updates) <= set(changed) | set(maybe), (sorted(updates), sorted(changed), sorted(maybe))
    for key, fields in updates.items():  # nothing changes that was not predicted to, or that may have
        allowed = changed.get(key, []) + maybe.get(key, [])
        assert all(any(d.startswith(f) for f in allowed) for d in fields), (key, allowed, fields)
    for key, fields in changed.items():  # each predicted field changes
        assert all(any(d.startswith(f) for d in updates[key]) for f in fields), (key, fields, updates[key])
