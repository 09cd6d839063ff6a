"""The real Pulumi engine for the e2e tier: the CLI and provider plugins built by tools/e2e/build.sh.

Programs run through the Automation API's inline program host, the Python SDK's own LanguageRuntime server
(pulumi/automation/_server.py): the CLI connects to it with `--client` instead of starting the
`pulumi-language-python` plugin, whose Go module the module proxy does not serve (tools/e2e/README.md). The CLI,
engine, state backend, secrets provider, provider plugins and policy-pack analyzer are the real ones.

Everything stays offline: a file:// backend, a passphrase secrets provider, no update checks, no plugin
downloads (plugins are found on PATH first, sdk/go/common/workspace/plugins.go).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from cluster_tls.stacks.program import main as stack_program

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "e2e passphrase, not a secret"


@dataclass
class Engine:
    bin: Path
    home: Path
    kubeconfig: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.home / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{self.home / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "KUBECONFIG": str(self.kubeconfig),
        }

    def prepare(self) -> None:
        (self.home / "state").mkdir(parents=True, exist_ok=True)
        (self.home / "pulumi-home").mkdir(parents=True, exist_ok=True)
        # The inline program's process (this one) and every child the CLI starts read the same settings.
        os.environ.update({k: v for k, v in self.env().items() if k != "PATH"})

    @contextlib.contextmanager
    def stack_of(
        self, stack_file: Path, stack: str, folder: Path, config: dict[str, Any], without: tuple[str, ...] = ()
    ):
        """This project's stack program with `stack_file` (`config` set, the keys `without` left out) as stack
        `stack`: (project, stack), the stack removed afterwards."""
        project = Project.copy_of(REPO, stack_file, stack, folder, config, stack_program, without)
        made = self.stack(project)
        try:
            yield project, made
        finally:
            made.workspace.remove_stack(project.stack, force=True)

    @contextlib.contextmanager
    def program_stack(self, name: str, folder: Path, program: Callable[[], Any]):
        """A program of the tests' own (project `name`, stack `e2e`, no config): (project, stack), removed after."""
        folder.mkdir(parents=True)
        (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        (folder / "Pulumi.e2e.yaml").write_text("config: {}\n")
        project = Project(folder, "e2e", program)
        made = self.stack(project)
        try:
            yield project, made
        finally:
            made.workspace.remove_stack(project.stack, force=True)

    def stack(self, project: Project) -> auto.Stack:
        workspace = auto.LocalWorkspace(
            work_dir=str(project.folder),
            program=project.program,
            pulumi_home=str(self.home / "pulumi-home"),
            env_vars=self.env(),
            pulumi_command=auto.PulumiCommand(root=str(self.bin.parent), skip_version_check=True),
            secrets_provider="passphrase",
        )
        return auto.Stack.create_or_select(project.stack, workspace)


@dataclass
class Project:
    """A copy of a project (Pulumi.yaml, its stacks folder) with one stack's config, in a folder of its own."""

    folder: Path
    stack: str
    program: Callable[[], Any]

    @classmethod
    def copy_of(
        cls,
        source: Path,
        stack_file: Path,
        stack: str,
        folder: Path,
        config: dict[str, Any],
        program: Callable[[], Any],
        without: tuple[str, ...] = (),
    ) -> Project:
        folder.mkdir(parents=True)
        shutil.copy(source / "Pulumi.yaml", folder / "Pulumi.yaml")
        settings = yaml.safe_load((source / "Pulumi.yaml").read_text())
        stacks = folder / settings.get("stackConfigDir", ".")
        stacks.mkdir(exist_ok=True)
        document = yaml.safe_load(stack_file.read_text()) or {}
        document.setdefault("config", {}).update(config)
        for key in without:
            del document["config"][key]
        (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        return cls(folder, stack, _in_folder(folder, program))

    @property
    def stack_file(self) -> Path:
        settings = yaml.safe_load((self.folder / "Pulumi.yaml").read_text())
        return self.folder / settings.get("stackConfigDir", ".") / f"Pulumi.{self.stack}.yaml"

    def set_config(self, key: str, value: Any) -> None:
        """Edit the stack file as a person would (keeping what `pulumi` wrote into it, e.g. the salt)."""
        document = yaml.safe_load(self.stack_file.read_text())
        document["config"][key] = value
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def offline(self, *args: str) -> subprocess.CompletedProcess:
        """`cluster-tls <args>` on this project, as a separate process (the offline engine, Pulumi's mocks)."""
        return subprocess.run(
            [sys.executable, "-m", "cluster_tls.cli", *args, "--project-dir", str(self.folder)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
        )


def _in_folder(folder: Path, program: Callable[[], Any]) -> Callable[[], Any]:
    # The language host runs a program in its project folder; the stack program finds its stack file from there.
    def run() -> Any:
        with contextlib.chdir(folder):
            return program()

    return run


def local_chart_release(
    name: str, chart: Path, namespace: str, values: dict[str, Any], **options: Any
) -> Callable[[], None]:
    """A program installing the chart folder `chart` as Helm release `name` with waits off: no pod runs here, so a
    wait for Deployments or DaemonSets would never end."""

    def program() -> None:
        import pulumi_kubernetes as k8s

        k8s.helm.v3.Release(
            name, name=name, chart=str(chart), namespace=namespace, values=values, skip_await=True, **options
        )

    return program


def events_of(kind: str):
    """An on_event callback that keeps the engine events holding `kind` (e.g. 'resource_pre_event')."""
    kept: list[Any] = []

    def on_event(event: auto.events.EngineEvent) -> None:
        value = getattr(event, kind, None)
        if value is not None:
            kept.append(value)

    on_event.kept = kept  # type: ignore[attr-defined]
    return on_event
