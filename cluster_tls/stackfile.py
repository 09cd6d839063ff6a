"""Read `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program, without the CLI.

Objects become JSON strings and scalars strings, as in `PULUMI_CONFIG`. Encrypted `secure:` values cannot
be decrypted offline: they are replaced by a placeholder and their key is marked secret, so they render only
as the redaction marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-secret"


class StackFileError(Exception):
    pass


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    stack_config_dir: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents, Path(__file__).resolve().parent.parent):
            project_file = folder / "Pulumi.yaml"
            if project_file.is_file():
                meta = yaml.safe_load(project_file.read_text()) or {}
                return cls(folder, meta.get("name", folder.name), folder / meta.get("stackConfigDir", "."))
        raise StackFileError(f"no Pulumi.yaml found in {here} or its parents")

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def _strip_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET_PLACEHOLDER, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], inner = _strip_secure(v)
            found = found or inner
        return out, found
    if isinstance(value, list):
        pairs = [_strip_secure(v) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_stack_config(project: Project, stack: str) -> tuple[dict[str, str], list[str]]:
    path = project.stack_file(stack)
    if not path.is_file():
        known = ", ".join(project.stacks()) or "none"
        raise StackFileError(f"stack {stack!r}: no file {path} (stacks: {known})")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"stack {stack!r}: {path} is not valid YAML: {error}") from None
    entries = document.get("config") or {}
    if not isinstance(entries, dict):
        raise StackFileError(f"stack {stack!r}: 'config' in {path} must be a mapping")
    return config_from_entries(entries, project.name)


def config_from_entries(entries: dict[str, Any], project_name: str) -> tuple[dict[str, str], list[str]]:
    """Stack-file `config:` entries -> (config as the engine passes it, keys that hold secrets)."""
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in entries.items():
        full_key = key if ":" in key else f"{project_name}:{key}"
        plain, secret = _strip_secure(value)
        config[full_key] = _as_config_string(plain)
        if secret:
            secret_keys.append(full_key)
    return config, secret_keys
