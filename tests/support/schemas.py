"""Upstream schemas as judges: cert-manager/Istio/Whizard CRDs and chart value schemas from ../shared,
Kubernetes core kinds from the `kubernetes-validate` package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
from jsonschema import Draft7Validator

KUBERNETES_VERSION = "1.33"


class Schemas:
    def __init__(self, root: Path):
        self.root = root
        self.index = json.loads((root / "index.json").read_text())
        self._validators: dict[str, Draft7Validator] = {}

    def _validator(self, relative: str) -> Draft7Validator:
        if relative not in self._validators:
            self._validators[relative] = Draft7Validator(json.loads((self.root / relative).read_text()))
        return self._validators[relative]

    def knows(self, api_version: str, kind: str) -> bool:
        return f"{api_version}|{kind}" in self.index

    def crd_errors(self, obj: dict[str, Any], strict: bool = True) -> list[str]:
        entry = self.index[f"{obj['apiVersion']}|{obj['kind']}"]
        validator = self._validator(entry["strictSchema" if strict else "schema"])
        return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj)]

    def core_errors(self, obj: dict[str, Any]) -> list[str]:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            return [f"{'/'.join(map(str, error.path))}: {error.message}"]
        return []

    def _core_schema_validator(self, obj: dict[str, Any]):
        """The strict core schema kubernetes-validate uses, built the same way (kubernetes_validate/utils.py)."""
        import re

        import jsonschema
        from referencing import Registry, Resource

        api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
        folder = (
            Path(kubernetes_validate.__file__).parent
            / "kubernetes-json-schema"
            / f"v{KUBERNETES_VERSION}.0-local-strict"
        )
        key = f"core:{obj['kind'].lower()}-{api_version}"
        if key not in self._validators:
            schema = json.loads((folder / f"{obj['kind'].lower()}-{api_version}.json").read_text())
            definitions = json.loads((folder / "_definitions.json").read_text())
            registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
            self._validators[key] = jsonschema.validators.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def patch_errors(self, obj: dict[str, Any]) -> list[str]:
        """A server-side-apply patch: the object's schema, except that required fields may be left out."""
        if self.knows(obj["apiVersion"], obj["kind"]):
            errors = self._validator(self.index[f"{obj['apiVersion']}|{obj['kind']}"]["strictSchema"]).iter_errors(obj)
        else:
            errors = self._core_schema_validator(obj).iter_errors(obj)
        return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors if e.validator != "required"]

    def object_errors(self, obj: dict[str, Any], *, patch: bool = False) -> list[str]:
        if patch:
            return self.patch_errors(obj)
        if self.knows(obj["apiVersion"], obj["kind"]):
            return self.crd_errors(obj)
        return self.core_errors(obj)

    def unknown_values(self, chart: str, values: dict[str, Any]) -> list[str]:
        """Keys of `values` that the chart's own values.yaml does not have (for charts without a schema)."""
        import yaml

        defaults = yaml.safe_load((self.root / "helm" / chart / "values.yaml").read_text())

        def walk(ours: dict[str, Any], theirs: Any, path: str) -> list[str]:
            found = []
            for key, value in ours.items():
                if not isinstance(theirs, dict) or key not in theirs:
                    found.append(f"{path}{key}")
                elif isinstance(value, dict) and isinstance(theirs[key], dict):
                    found += walk(value, theirs[key], f"{path}{key}.")
            return found

        return walk(values, defaults, "")

    def helm_values_errors(self, chart: str, values: dict[str, Any], version: str | None = None) -> list[str]:
        folder = self.root / "helm" / chart / (version or "")
        validator = self._validator(str((folder / "values.schema.json").relative_to(self.root)))
        return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]
