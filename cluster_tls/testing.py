"""Test your own Pulumi program that uses cluster-tls components, on Pulumi's mock runtime, with pytest.

    from cluster_tls.testing import evaluate_program, evaluate_project

    def test_my_gateway_serves_https():
        result = evaluate_project("path/to/my-project", stack="dev")      # its Pulumi.yaml and stack file
        gateway = result.object("Gateway", "web", namespace="istio-system")
        assert gateway["spec"]["servers"][0]["tls"]["mode"] == "SIMPLE"

    def test_a_function():
        result = evaluate_program(my_module.build, config={"myproj:domain": "example.com"})
        assert result.objects("Certificate")

Objects come back as the Kubernetes documents the program would apply (camelCase), with every secret as
"[secret]"; `result.registrations` has everything else the engine saw (parents, dependencies, providers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .manifests import component_outputs, dump_yaml, kubernetes_objects, render_files
from .mockrun import Evaluation, folder_program, run_program, run_stack
from .stackfile import Project


@dataclass
class ProgramResult:
    evaluation: Evaluation

    @property
    def registrations(self):
        return self.evaluation.registrations

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Kubernetes objects (redacted), optionally of one kind."""
        return [
            yaml.safe_load(dump_yaml(obj.body))
            for obj in kubernetes_objects(self.evaluation)
            if kind is None or obj.kind == kind
        ]

    def object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        found = [
            yaml.safe_load(dump_yaml(obj.body))
            for obj in kubernetes_objects(self.evaluation)
            if obj.kind == kind and obj.name == name and (namespace is None or obj.namespace == namespace)
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} {kind} objects named {name!r} in {namespace or 'any namespace'}")
        return found[0]

    def outputs(self, component: str) -> dict[str, Any]:
        """What a cluster-tls component registered as outputs, by its Pulumi name."""
        return yaml.safe_load(dump_yaml(component_outputs(self.evaluation)[component]))

    def exports(self) -> dict[str, Any]:
        """What the program exported with `pulumi.export` (redacted), by name."""
        return yaml.safe_load(dump_yaml(self.evaluation.stack_outputs())) or {}

    def render(self) -> dict[str, str]:
        """The files `cluster-tls render` would write."""
        return render_files(self.evaluation)


def evaluate_program(
    program: Callable[[], Any],
    *,
    project: str = "project",
    stack: str = "dev",
    config: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
) -> ProgramResult:
    """Run `program` on a fresh mock runtime with `config` (`"<project>:<key>": value`; objects as dicts)."""
    import json

    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    return ProgramResult(
        run_program(program, project=project, stack=stack, config=flat, secret_keys=secret_keys, offline=True)
    )


def evaluate_project(folder: str | Path, *, stack: str) -> ProgramResult:
    """Run the Pulumi project in `folder` (its Pulumi.yaml, main file and stack file) as `pulumi up` would run it."""
    project = Project.find(Path(folder), search_up=False)
    return ProgramResult(run_stack(folder_program(project.root), project, stack))
