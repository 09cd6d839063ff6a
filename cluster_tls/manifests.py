"""Turn recorded registrations into reviewable files: Kubernetes objects, Helm releases, component outputs.

Output is deterministic: objects and files are ordered by name, mappings by key, and secrets appear only
as the redaction marker. The file layout:

    manifests/<namespace | _cluster>/<kind>.<group | core>.<name>.yaml
    helm/<namespace>/<release>/release.yaml   chart, repository, version (and caFile, a chart mirror's CA)
    helm/<namespace>/<release>/values.yaml    the values, usable with `helm upgrade -f`
    outputs/<component>.yaml                  what each cluster-tls component registered as outputs
    stack/outputs.yaml                        what the program exported (`pulumi.export`), if anything
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import yaml

from .components.base import TYPE_PREFIX
from .mockrun import Evaluation, Registration, Secret

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


# Set by `diff` (both sides get the same random salt): a secret renders as `[secret:<digest>]`, so that a changed
# secret shows as "changed (redacted)" without ever showing it. Plain renders use the bare marker.
SECRET_SALT: contextvars.ContextVar[bytes | None] = contextvars.ContextVar("cluster_tls_secret_salt", default=None)


def _canonical(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else repr(value)


def secret_marker(value: Any) -> str:
    salt = SECRET_SALT.get()
    if salt is None:
        return Secret.MARKER
    # The same value, whatever its dict order; secrets nested inside count by their values (issue 28: rotated
    # DNSPod credentials, secrets inside a secret stringData, were "no differences").
    canonical = json.dumps(value, sort_keys=True, default=_canonical)
    digest = hmac.new(salt, canonical.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{Secret.MARKER[:-1]}:{digest}]"


def redact(value: Any) -> Any:
    if isinstance(value, Secret):
        return secret_marker(value.reveal())
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _secret_in(mapping: dict[str, Any], *keys: str) -> bool:
    return any(isinstance(mapping.get(key), Secret) for key in keys)


def is_kubernetes_object(reg: Registration) -> bool:
    return reg.custom and reg.type.startswith("kubernetes:") and reg.type != RELEASE_TYPE


@dataclass(frozen=True)
class KubernetesObject:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]
    source: Registration

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] or "core"

    @property
    def path(self) -> str:
        folder = self.namespace or "_cluster"
        return f"manifests/{folder}/{self.kind.lower()}.{self.group}.{self.name}.yaml"

    @property
    def key(self) -> str:
        return f"{self.api_version}|{self.kind}"


@dataclass(frozen=True)
class HelmRelease:
    name: str
    namespace: str
    chart: str
    version: str | None
    repository: str | None
    values: Any
    source: Registration
    ca_file: str | None = None  # the chart mirror's CA (repositoryOpts.caFile)

    @property
    def folder(self) -> str:
        return f"helm/{self.namespace}/{self.name}"


def kind_of(reg: Registration) -> str:
    return reg.type.rpartition(":")[2]


def kubernetes_objects(evaluation: Evaluation) -> list[KubernetesObject]:
    objects = []
    for reg in evaluation.registrations:
        if not is_kubernetes_object(reg):
            continue
        body = dict(reg.inputs)
        if kind_of(reg) in ("Secret", "SecretPatch", "ConfigMap", "ConfigMapPatch"):
            # A Secret's data arrives wrapped as a whole; its key names are not secret, so the render keeps
            # them (schema-valid, reviewable) and hides every value.
            for field in ("data", "stringData"):
                value = body.get(field)
                if isinstance(value, Secret) and isinstance(value.reveal(), dict):
                    body[field] = {key: Secret(item) for key, item in value.reveal().items()}
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or _secret_in(metadata, "name", "namespace"):
            # a secret name or namespace: the file is named by the Pulumi resource name
            metadata = {"name": reg.name, "namespace": "_secret"}
        name = metadata.get("name") or reg.name
        # The type token `kubernetes:<apiVersion>:<kind>` names the object even where its inputs are secret.
        api_version, _, kind = reg.type.removeprefix("kubernetes:").rpartition(":")
        objects.append(
            KubernetesObject(
                api_version=api_version,
                kind=kind,
                namespace=metadata.get("namespace"),
                name=name,
                body=body,
                source=reg,
            )
        )
    return sorted(objects, key=lambda o: o.path)


def helm_releases(evaluation: Evaluation) -> list[HelmRelease]:
    releases = []
    for reg in evaluation.of_type(RELEASE_TYPE):
        inputs = reg.inputs
        repository = (inputs.get("repositoryOpts") or {}).get("repo")
        ca_file = (inputs.get("repositoryOpts") or {}).get("caFile")
        secret_place = _secret_in(inputs, "name", "namespace")  # then the folder is named by the resource name
        releases.append(
            HelmRelease(
                name=reg.name if secret_place else inputs.get("name") or reg.name,
                namespace="_secret" if secret_place else inputs.get("namespace") or "default",
                chart=inputs["chart"],
                version=inputs.get("version"),
                repository=repository,
                values=inputs.get("values") or {},
                source=reg,
                ca_file=ca_file,
            )
        )
    return sorted(releases, key=lambda r: r.folder)


def component_outputs(evaluation: Evaluation) -> dict[str, Any]:
    by_urn = evaluation.by_urn()
    outputs = {}
    for urn, values in evaluation.outputs.items():
        reg = by_urn.get(urn)
        if reg is not None and reg.type.startswith(TYPE_PREFIX):
            outputs[reg.name] = values
    return dict(sorted(outputs.items()))


# libyaml's emitter when PyYAML has it: the same text as the pure-Python SafeDumper, several times faster
# (checked on every render of the stacks, tests/test_offline_cli.py).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(document: Any) -> str:
    return yaml.dump(redact(document), Dumper=_DUMPER, sort_keys=True, default_flow_style=False, allow_unicode=True)


class RenderError(Exception):
    """Two objects would be written to one file: one of them would be lost."""


def render_files(evaluation: Evaluation) -> dict[str, str]:
    """Relative path -> file text, for everything the stack would apply."""
    files: dict[str, str] = {}
    owners: dict[str, str] = {}

    def put(path: str, text: str, owner: str) -> None:
        unsafe = [part for part in path.split("/") if part in ("", ".", "..") or "\\" in part or "\x00" in part]
        if unsafe:  # a name with '/' or '..' would write outside its folder (issue 19)
            raise RenderError(f"{owner}: its name makes the path {path[:200]!r}, which would leave its folder")
        if path in owners:
            raise RenderError(f"{path} would hold two objects: from {owners[path]} and from {owner}")
        owners[path] = owner
        files[path] = text

    for obj in kubernetes_objects(evaluation):
        put(obj.path, dump_yaml(obj.body), f"resource {obj.source.name!r}")
    for release in helm_releases(evaluation):
        owner = f"release {release.source.name!r}"
        put(f"{release.folder}/values.yaml", dump_yaml(release.values), owner)
        put(
            f"{release.folder}/release.yaml",
            dump_yaml(
                {
                    "chart": release.chart,
                    "name": release.name,
                    "namespace": release.namespace,
                    "repository": release.repository,
                    "version": release.version,
                    **({"caFile": release.ca_file} if release.ca_file else {}),
                }
            ),
            owner,
        )
    for component, values in component_outputs(evaluation).items():
        put(f"outputs/{component}.yaml", dump_yaml(values), f"component {component!r}")
    exports = evaluation.stack_outputs()
    if exports:
        put("stack/outputs.yaml", dump_yaml(exports), "the stack's exports")
    return dict(sorted(files.items()))
