"""Generate cluster_tls/preflight/cert_manager_fields.json: the cert-manager release each field of its API first
appears in, for the preflight rule that refuses a field the installed cert-manager's CRDs do not declare (issue 29).

    .venv/bin/python tools/cert_manager_fields.py [--out <the json>]

Input: the CRDs of every cert-manager minor release from v1.6.0 (the oldest CertManagerInstall takes) to the
version the package pins, each taken from the release's Go module (`go mod download -json
github.com/cert-manager/cert-manager@<version>`, verified against the Go checksum database; `deploy/crds/crd-*.yaml`).
Output: per `<apiVersion>|<kind>`, each field path (list items as `[]`) that the oldest release lacks, with the first
release that declares it (a field as old as the one holding it is left to its parent); each release with the
module's hash and the commit its tag names. The real tier regenerates it and installs older releases' CRDs into a
real API server, which must refuse exactly what the rule refuses (tests/e2e/test_strict_field_validation.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from go_modules import download
from strict_schemas import reduce

REPO = Path(__file__).resolve().parent.parent
MODULE = "github.com/cert-manager/cert-manager"
RELEASES = tuple(f"v1.{minor}.0" for minor in range(6, 22)) + ("v1.21.1",)  # the pinned one last
KINDS = ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer")


def crd_schemas(folder: Path) -> dict[str, dict[str, Any]]:
    """`<apiVersion>|<kind>` -> the reduced schema, for the cert-manager.io kinds of one release's CRDs."""
    found = {}
    for path in sorted((folder / "deploy" / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            if spec["group"] != "cert-manager.io" or spec["names"]["kind"] not in KINDS:
                continue
            for served in spec.get("versions", []):
                schema = ((served.get("schema") or {}).get("openAPIV3Schema")) or {}
                found[f"cert-manager.io/{served['name']}|{spec['names']['kind']}"] = reduce(schema)
    return found


def field_paths(schema: dict[str, Any], path: str = "") -> set[str]:
    """Every declared field path of a reduced schema, list items as `[]`, maps' values as `{}`."""
    paths = set()
    for name, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{name}" if path else name
        paths.add(here)
        paths |= field_paths(sub, here)
    if "items" in schema:
        paths |= field_paths(schema["items"], f"{path}[]")
    if "additional" in schema:
        paths |= field_paths(schema["additional"], f"{path}{{}}")
    return paths


def _parent(path: str) -> str | None:
    """`spec.a[].b` -> `spec.a`; `spec.a{}.b` -> `spec.a`; `spec` -> None."""
    if "." not in path:
        return None
    parent = path.rsplit(".", 1)[0]
    while parent.endswith(("[]", "{}")):
        parent = parent[:-2]
    return parent


def generate() -> dict[str, Any]:
    releases, declared = {}, {}
    for version in RELEASES:
        module = download(MODULE, version)
        releases[version] = {"module": f"{MODULE}@{version}", "sum": module["Sum"]}
        if (module.get("Origin") or {}).get("Hash"):
            releases[version]["commit"] = module["Origin"]["Hash"]
        declared[version] = {key: field_paths(schema) for key, schema in crd_schemas(Path(module["Dir"])).items()}
    newest = declared[RELEASES[-1]]
    since: dict[str, dict[str, str]] = {}
    for key in sorted(newest):
        first = {f: next(v for v in RELEASES if f in declared[v].get(key, set())) for f in sorted(newest[key])}
        for field, version in first.items():
            parent = _parent(field)
            # a field as old as the one holding it is said once, by its parent
            if version != RELEASES[0] and (parent is None or first.get(parent) != version):
                since.setdefault(key, {})[field] = version
    return {"generatedBy": "tools/cert_manager_fields.py", "releases": releases, "since": since}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "cluster_tls" / "preflight" / "cert_manager_fields.json")
    args = parser.parse_args()
    document = generate()
    args.out.write_text(json.dumps(document, sort_keys=True, indent=1) + "\n")
    print(f"{sum(map(len, document['since'].values()))} fields newer than {RELEASES[0]} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
