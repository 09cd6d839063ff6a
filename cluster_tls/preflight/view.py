"""The stack as the rules see it: Kubernetes objects with their Pulumi names and dependencies, Helm releases,
and the objects charts will create that the package knows of (Hubble's Certificates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

REDACTED = "[secret]"


class Unknown(str):
    """A value the rules cannot read: a secret leaf (offline), or one `pulumi preview` does not know yet (the
    policy pack). It reads as present and empty from every side, and equals nothing, not even another unknown:
    a rule that meets one judges the rest of the object and draws no conclusion from this value (issue 19: a
    secret leaf must not switch the rules off for its object, nor make them see a name that is not there)."""

    def __new__(cls, marker: str = REDACTED) -> Unknown:
        return super().__new__(cls, marker)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __contains__(self, item: object) -> bool:
        return False

    def __iter__(self):
        return iter(())

    def __getitem__(self, key: object) -> None:
        return None

    def get(self, key: object, default: Any = None) -> Any:
        return default

    def keys(self) -> tuple[()]:
        return ()

    values = items = keys


def is_known(value: Any) -> bool:
    return not isinstance(value, Unknown)


def all_known(values: Iterable[Any]) -> bool:
    return not any(isinstance(value, Unknown) for value in values)


@dataclass(frozen=True)
class Obj:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]
    resource: str = ""  # Pulumi resource name ("" for chart-created objects)
    urn: str = ""
    source: str = "program"  # program | chart | patch

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, (dict, Unknown)) else {}  # type: ignore[return-value]

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.body.get("metadata")
        return metadata if isinstance(metadata, (dict, Unknown)) else {}  # type: ignore[return-value]

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        resource = f" (resource {self.resource})" if self.resource else f" ({self.source})"
        return f"{self.kind} {where}{resource}"


@dataclass(frozen=True)
class Release:
    chart: str
    name: str
    namespace: str
    values: Any
    resource: str = ""
    urn: str = ""
    version: str | None = None  # the chart version the release pins

    def describe(self) -> str:
        resource = f" (resource {self.resource})" if self.resource else ""
        return f"HelmRelease {self.namespace}/{self.name}{resource}"


@dataclass
class StackView:
    objects: list[Obj] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    dependencies: dict[str, set[str]] = field(default_factory=dict)  # urn -> urns it waits for
    plain_inputs: dict[str, Any] = field(default_factory=dict)  # resource name -> non-secret inputs
    outputs: dict[str, Any] = field(default_factory=dict)  # cluster-tls component name -> registered outputs
    production: bool | None = None
    stack: str = ""

    def of(self, kind: str, group: str | None = None) -> list[Obj]:
        return [o for o in self.objects if o.kind == kind and (group is None or o.group == group)]

    def find(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        for obj in self.objects:
            if obj.kind == kind and obj.name == name and obj.namespace == namespace:
                return obj
        return None

    def release(self, chart: str) -> Release | None:
        return next((r for r in self.releases if r.chart.rsplit("/", 1)[-1] == chart), None)

    def waits_for(self, urn: str, target: str) -> bool:
        """Whether `urn` depends on `target`, directly or through others."""
        seen, todo = set(), [urn]
        while todo:
            current = todo.pop()
            if current == target:
                return current != urn
            if current in seen:
                continue
            seen.add(current)
            todo += self.dependencies.get(current, ())
        return False

    def cluster_resource_namespace(self) -> str:
        release = self.release("cert-manager")
        if release is None:
            return "cert-manager"
        values = release.values if isinstance(release.values, dict) else {}
        return values.get("clusterResourceNamespace") or release.namespace


def _plain(value: Any, reveal: bool = False) -> Any:
    """The evaluation's values as the rules see them: each Secret marker an unknown leaf, the rest as it is; with
    `reveal`, a secret's value where it is known (`cluster-tls status` compares them with the cluster, and shows
    nothing it has not redacted)."""
    from ..mockrun import Secret
    from ..stackfile import OFFLINE_SECRET_PLACEHOLDER

    if isinstance(value, Secret):
        inner = value.reveal()
        placeholder = isinstance(inner, str) and inner.startswith(OFFLINE_SECRET_PLACEHOLDER)
        return _plain(inner, reveal) if reveal and not placeholder else Unknown()
    if isinstance(value, dict):
        return {k: _plain(v, reveal) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, reveal) for v in value]
    return value


def _identity(metadata: Any, namespace: str | None, name: str, reveal: bool = False) -> tuple[str | None, str]:
    """An object's namespace and name as the rules see them: unknown where they are secret (the render names the
    file after the Pulumi resource instead, cluster_tls.manifests)."""
    metadata = _plain(metadata or {}, reveal)
    if not is_known(metadata):
        return Unknown(), Unknown()
    if reveal:
        return metadata.get("namespace", namespace), metadata.get("name", name)
    secret_namespace, secret_name = metadata.get("namespace"), metadata.get("name")
    return (
        namespace if is_known(secret_namespace) else secret_namespace,
        name if is_known(secret_name) else secret_name,
    )


def from_evaluation(evaluation, *, production: bool | None = None, stack: str = "", reveal: bool = False) -> StackView:
    """The view of an offline evaluation (cluster_tls.mockrun.Evaluation); with `reveal`, secrets as their values
    where known (never for the rules: their findings are shown as they are)."""
    from ..manifests import component_outputs, helm_releases, kubernetes_objects

    view = StackView(production=production, stack=stack)
    for obj in kubernetes_objects(evaluation):
        kind = obj.kind.removesuffix("Patch") if obj.kind.endswith("Patch") else obj.kind
        namespace, name = _identity(obj.source.inputs.get("metadata"), obj.namespace, obj.name, reveal)
        view.objects.append(
            Obj(
                obj.api_version,
                kind,
                namespace,
                name,
                _plain(obj.body, reveal),
                obj.source.name,
                obj.source.urn,
                "patch" if obj.kind.endswith("Patch") else "program",
            )
        )
    for release in helm_releases(evaluation):
        view.releases.append(
            Release(
                _plain(release.chart, reveal),
                release.name,
                release.namespace,
                _plain(release.values, reveal),
                release.source.name,
                release.source.urn,
                _plain(release.version, reveal) if release.version else None,
            )
        )
    for reg in evaluation.registrations:
        view.dependencies[reg.urn] = set(reg.dependencies) | ({reg.parent} if reg.parent else set())
        view.plain_inputs[reg.name] = _strip_secrets(reg.inputs)
    # A component's dependencies are its children's too (the SDK hands `depends_on` down).
    for component, outputs in component_outputs(evaluation).items():
        add_component_outputs(view, component, _plain(outputs, reveal))
    return view


def add_component_outputs(view: StackView, component: str, outputs: Any) -> None:
    """A cluster-tls component's registered outputs, and the Certificates it says a chart will create."""
    view.outputs[component] = outputs
    for certificate in (outputs if isinstance(outputs, dict) else {}).get("chart_certificates") or []:
        meta = certificate.get("metadata", {})
        view.objects.append(
            Obj(
                certificate["apiVersion"],
                "Certificate",
                meta.get("namespace"),
                meta["name"],
                certificate,
                source="chart",
            )
        )


def _strip_secrets(value: Any) -> Any:
    from ..mockrun import Secret

    if isinstance(value, Secret):
        return None
    if isinstance(value, dict):
        return {k: _strip_secrets(v) for k, v in value.items() if not isinstance(v, Secret)}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


def from_manifests(documents: Iterable[dict[str, Any] | str], *, production: bool | None = None) -> StackView:
    """A view of plain manifests (tests, other tools): objects without Pulumi names or dependencies; a
    `helm.sh/v3 Release`-like document `{kind: HelmRelease, chart, name, namespace, values}` adds a release."""
    view = StackView(production=production)
    for document in documents:
        doc = yaml.safe_load(document) if isinstance(document, str) else document
        if doc.get("kind") == "HelmRelease":
            view.releases.append(
                Release(
                    doc["chart"],
                    doc["name"],
                    doc.get("namespace", "default"),
                    doc.get("values", {}),
                    version=doc.get("version"),
                )
            )
            continue
        meta = doc.get("metadata") or {}
        namespace = Unknown() if isinstance(meta, Unknown) else meta.get("namespace")
        name = Unknown() if isinstance(meta, Unknown) else meta.get("name", "")
        view.objects.append(Obj(doc["apiVersion"], doc["kind"], namespace, name, doc, meta.get("name", "")))
        view.plain_inputs[meta.get("name", "")] = doc
    return view
