"""S. Strict schemas: every field an object sets is one its kind's schema declares (issue 29).

The API server's strict field validation (`kubectl apply --validate=strict`, `fieldValidation=Strict`) refuses an
object with a field its CRD's schema does not declare; without it the field is dropped with a warning, so a typo
such as Istio's `credentialsName` leaves the gateway with no certificate either way. The schemas are the upstream
CRDs at the pinned versions, reduced to what strict validation reads (tools/strict_schemas.py generates
cluster_tls/preflight/strict_schemas.json and records each file's source and sha256). The real tier sends generated
objects to a real API server with strict validation and requires this rule to name what it refuses
(tests/e2e/test_webhook_judge.py).
"""

from __future__ import annotations

import difflib
import functools
import json
from importlib import resources
from typing import Any

from ..engine import rule
from ..view import StackView, Unknown
from ._common import Findings

# ObjectMeta's fields (k8s.io/apimachinery/pkg/apis/meta/v1 types.go): the API server validates metadata itself,
# whatever a CRD's schema says of it.
OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


@functools.cache
def schemas() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("cluster_tls.preflight").joinpath("strict_schemas.json").read_text()
    return json.loads(text)["kinds"]


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[tuple[str, list[str]]]:
    """(path, the fields declared there) of every field `value` sets that `schema` does not declare."""
    if isinstance(value, Unknown) or schema.get("unknown"):
        return []
    found: list[tuple[str, list[str]]] = []
    if isinstance(value, dict):
        declared = schema.get("properties")
        if declared is None and "additional" not in schema and not schema.get("embedded"):
            declared = {}  # a mapping where the schema has none (a string, an object without fields): all unknown
        for key, item in value.items():
            where = f"{path}.{key}"
            if not path and key in ("apiVersion", "kind", "metadata"):  # every object's, whatever its schema says
                if key == "metadata":
                    found += unknown_fields(item, {"properties": dict.fromkeys(OBJECT_META, {"unknown": True})}, where)
                continue
            if declared is not None and key in declared:
                found += unknown_fields(item, declared[key], where)
            elif "additional" in schema:
                found += unknown_fields(item, schema["additional"], where)
            elif declared is not None or schema.get("embedded"):
                if schema.get("embedded") and key in ("apiVersion", "kind", "metadata"):
                    continue
                found.append((where, sorted(declared or ())))
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


@rule("S1", "error", "every field is one the kind's schema declares (the API server's strict field validation)")
def declared_fields(view: StackView) -> Findings:
    for obj in view.objects:
        if obj.source == "chart":
            continue  # the chart's own objects: upstream's, rendered by Helm
        candidates = schemas().get(f"{obj.api_version}|{obj.kind}")
        if not candidates:
            continue
        body = {k: v for k, v in obj.body.items() if k != "status"}
        # Where a kind has several layouts (Whizard's v0.9 and v0.10), the object is refused only if every layout
        # refuses it; the layout it comes closest to names the fields.
        per_layout = [dict(unknown_fields(body, c["schema"])) for c in candidates]
        if not all(per_layout):
            continue
        closest = min(per_layout, key=len)
        for path in sorted(closest):
            declared = closest[path]
            leaf = path.rsplit(".", 1)[-1]
            close = difflib.get_close_matches(leaf, declared, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            versions = ", ".join(sorted({c["version"] for c in candidates}))
            yield (
                obj,
                f"unknown field {path.lstrip('.')!r}: the {obj.kind} schema ({versions}) declares no such field, "
                f"so the API server refuses it under strict field validation and drops it otherwise{hint}",
            )
