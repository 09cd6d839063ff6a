"""Generate cluster_tls/preflight/strict_schemas.json: which fields each CRD kind declares, at the pinned versions,
for the preflight rule that refuses unknown fields as `kubectl apply --validate=strict` (the API server's strict
field validation) refuses them (issue 29).

    .venv/bin/python tools/strict_schemas.py [--crds ../shared/schemas/crds] [--out <the json>]

Input: the upstream CRD files (`../shared/schemas/crds`, each an unmodified upstream file; its SOURCES.md names the
tag and commit). Output: per `<apiVersion>|<kind>` the schemas of every CRD file that defines it (Whizard has two
layouts), reduced to what strict field validation reads: `properties`, `items`, `additionalProperties` and
`x-kubernetes-preserve-unknown-fields` (and `x-kubernetes-embedded-resource`, whose object keeps apiVersion, kind
and metadata); each with the file it came from, that file's sha256 and the version its labels or folder name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def reduce(schema: dict[str, Any]) -> dict[str, Any]:
    """The part of an OpenAPI v3 schema that says which fields exist."""
    out: dict[str, Any] = {}
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        out["unknown"] = True
    if schema.get("x-kubernetes-embedded-resource"):
        out["embedded"] = True
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: reduce(sub) for name, sub in sorted(schema["properties"].items())}
    if isinstance(schema.get("items"), dict):
        out["items"] = reduce(schema["items"])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additional"] = reduce(extra)
    elif extra is True:
        out["additional"] = {"unknown": True}
    for combined in ("allOf", "anyOf", "oneOf"):  # structural schemas keep fields out of these; merged if present
        for sub in schema.get(combined) or []:
            for name, part in reduce(sub).get("properties", {}).items():
                out.setdefault("properties", {}).setdefault(name, part)
    return out


def pinned_tags(sources: Path) -> dict[str, str]:
    """Folder name -> the tag SOURCES.md says its files were copied from (`## 1. cert-manager — ..., tag `v1.21.1``)."""
    tags = {}
    for line in sources.read_text().splitlines() if sources.is_file() else []:
        found = re.match(r"## \d+\. (\S+) .*tag `([^`]+)`", line)
        if found:
            tags[found.group(1).lower()] = found.group(2)
    return tags


def _version_of(path: Path, document: dict[str, Any], tags: dict[str, str]) -> str:
    if path.parent.name.lower() in tags:
        return tags[path.parent.name.lower()]
    labels = (document.get("metadata") or {}).get("labels") or {}
    for key in ("app.kubernetes.io/version", "gateway.networking.k8s.io/bundle-version"):
        if key in labels:
            return str(labels[key])
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    if "gateway.networking.k8s.io/bundle-version" in annotations:
        return str(annotations["gateway.networking.k8s.io/bundle-version"])
    return path.parent.name


def generate(crds: Path) -> dict[str, Any]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    tags = pinned_tags(crds.parent / "SOURCES.md")
    for path in sorted(crds.rglob("*.yaml")):
        data = path.read_bytes()
        for document in yaml.safe_load_all(data):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec.get("versions", []):
                schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
                key = f"{spec['group']}/{version['name']}|{spec['names']['kind']}"
                kinds.setdefault(key, []).append(
                    {
                        "source": str(path.relative_to(crds)),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "version": _version_of(path, document, tags),
                        "schema": reduce(schema),
                    }
                )
    return {"generatedBy": "tools/strict_schemas.py", "from": "../shared/schemas/crds (SOURCES.md)", "kinds": kinds}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crds", type=Path, default=REPO.parent / "shared" / "schemas" / "crds")
    parser.add_argument("--out", type=Path, default=REPO / "cluster_tls" / "preflight" / "strict_schemas.json")
    args = parser.parse_args()
    document = generate(args.crds)
    args.out.write_text(json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"{len(document['kinds'])} kinds -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
