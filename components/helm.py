"""Helm releases as the package installs them: explicit name, pinned version, Helm waits for readiness."""

from __future__ import annotations

from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, StringConstraints

from .model import Spec

# https:// is a chart repository (its index.yaml); oci:// is a registry path, which Helm takes as the chart
# reference itself and cannot read as a repository index (helm.sh/docs/topics/registries).
ChartRepository = Annotated[str, StringConstraints(pattern=r"^(https://|oci://)[^\s]+$")]


class ChartMirror(Spec):
    """Where every chart the stack installs comes from instead of its project's repository: a chart mirror
    (Harbor, Nexus, ChartMuseum, Artifactory) or an OCI registry, for air-gapped clusters and for clusters that
    cannot reach the upstream repositories reliably. A release whose own `repository` is set keeps it."""

    repository: ChartRepository = Field(
        description="https://<mirror>/<path> (a repository with an index.yaml serving each chart by its name) or "
        "oci://<registry>/<path> (each chart at <path>/<name>)."
    )
    ca_file: str | None = Field(
        default=None,
        description="PEM file of the CA the mirror's certificate chains to, on the machine that runs `pulumi up` "
        "(Helm's --ca-file); unset: the system's roots.",
    )


def chart_source(settings: Spec, mirror: ChartMirror | None, field: str = "repository") -> tuple[str, str | None]:
    """(repository, CA file) of a release: its own repository when set explicitly, else the stack's mirror, else
    its project's default."""
    if mirror is None or field in settings.model_fields_set:
        return getattr(settings, field), None
    return mirror.repository, mirror.ca_file


def chart_location(
    chart: str, repository: str, ca_file: str | None = None
) -> tuple[str, k8s.helm.v3.RepositoryOptsArgs | None]:
    """(`chart`, `repository_opts`) for a Release: OCI charts go into `chart` as `oci://.../<chart>`. The CA file
    reaches Helm's chart download either way (pulumi-kubernetes helm_release.go chartPathOptionsFromRelease)."""
    if repository.startswith("oci://"):
        opts = k8s.helm.v3.RepositoryOptsArgs(ca_file=ca_file) if ca_file else None
        return f"{repository.rstrip('/')}/{chart}", opts
    return chart, k8s.helm.v3.RepositoryOptsArgs(repo=repository, ca_file=ca_file)


def helm_release(
    resource_name: str,
    *,
    name: str,
    chart: str,
    version: str,
    namespace: str,
    repository: str,
    values: dict[str, Any],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
    create_namespace: bool = False,
    ca_file: str | None = None,
) -> k8s.helm.v3.Release:
    # `name` is explicit: without it the release (and every object in it) gets a random suffix.
    # skip_await=False makes Helm wait for Deployments and hooks, so dependants start after readiness.
    chart_ref, repository_opts = chart_location(chart, repository, ca_file)
    return k8s.helm.v3.Release(
        resource_name,
        name=name,
        chart=chart_ref,
        version=version,
        namespace=namespace,
        create_namespace=create_namespace,
        repository_opts=repository_opts,
        values=values,
        skip_await=False,
        timeout=timeout_seconds,
        opts=opts,
    )
