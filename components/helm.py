"""Helm releases as the package installs them: explicit name, pinned version, Helm waits for readiness."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s


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
    return k8s.helm.v3.Release(
        resource_name,
        name=name,
        chart=chart,
        version=version,
        namespace=namespace,
        create_namespace=create_namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository),
        values=values,
        skip_await=False,
        timeout=timeout_seconds,
        opts=opts,
    )
