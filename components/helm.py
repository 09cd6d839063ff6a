"""Helm releases as the package installs them: explicit name, pinned version, Helm waits for readiness."""

from __future__ import annotations

from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import StringConstraints

# https:// is a chart repository (its index.yaml); oci:// is a registry path, which Helm takes as the chart
# reference itself and cannot read as a repository index (helm.sh/docs/topics/registries).
ChartRepository = Annotated[str, StringConstraints(pattern=r"^(https://|oci://)[^\s]+$")]


def chart_location(chart: str, repository: str) -> tuple[str, k8s.helm.v3.RepositoryOptsArgs | None]:
    """(`chart`, `repository_opts`) for a Release: OCI charts go into `chart` as `oci://.../<chart>`."""
    if repository.startswith("oci://"):
        return f"{repository.rstrip('/')}/{chart}", None
    return chart, k8s.helm.v3.RepositoryOptsArgs(repo=repository)


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
) -> k8s.helm.v3.Release:
    # `name` is explicit: without it the release (and every object in it) gets a random suffix.
    # skip_await=False makes Helm wait for Deployments and hooks, so dependants start after readiness.
    chart_ref, repository_opts = chart_location(chart, repository)
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
