"""Live object against the offline render: the fields the stack sets that the cluster holds otherwise. Only what
the stack sets is compared (the API server and controllers add defaults and status); values that are secret in
the stack, and a Secret's data, are not compared (the render has only their marker)."""

from __future__ import annotations

from typing import Any

from ..preflight.view import Obj, is_known

_MISSING = object()
_NOT_COMPARED = ("apiVersion", "kind", "metadata", "status", "data", "stringData")


def _keyed(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and is_known(i) and isinstance(i.get("name"), str) for i in items)


def _differences(want: Any, have: Any, path: str) -> list[str]:
    if not is_known(want):
        return []
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [path]
        found: list[str] = []
        for key, value in want.items():
            found += _differences(value, have.get(key, _MISSING), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(want, list):
        if not isinstance(have, list):
            return [path]
        if _keyed(want) and _keyed(have):  # containers, volumes, env: merged by name (server-side apply)
            by_name = {i["name"]: i for i in have}
            found = []
            for item in want:
                found += _differences(item, by_name.get(item["name"], _MISSING), f"{path}[name={item['name']}]")
            return found
        if len(want) != len(have):
            return [path]
        found = []
        for index, (w, h) in enumerate(zip(want, have, strict=True)):
            found += _differences(w, h, f"{path}[{index}]")
        return found
    return [] if want == have else [path]


def drifted_fields(obj: Obj, live: dict[str, Any]) -> list[str]:
    """The paths of the fields `obj` sets that `live` does not hold as set."""
    body = obj.body if isinstance(obj.body, dict) else {}
    fields = {k: v for k, v in body.items() if k not in _NOT_COMPARED}
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    found = _differences(fields, live, "")
    found += _differences(metadata.get("labels") or {}, (live.get("metadata") or {}).get("labels") or {}, "labels")
    # pulumi.com/ annotations steer the provider (pulumi.com/waitFor, skipAwait); it does not write them all
    kept = {k: v for k, v in annotations.items() if not str(k).startswith("pulumi.com/")}
    found += _differences(kept, (live.get("metadata") or {}).get("annotations") or {}, "annotations")
    return found
