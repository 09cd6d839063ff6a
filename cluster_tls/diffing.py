"""What differs between two renders of a stack, object by object and field by field.

A render is `{relative path: YAML text}` (cluster_tls.manifests.render_files). Secrets render as `[secret]` or,
under `diff`, as `[secret:<salted digest>]`: a secret whose digest differs is reported only as
"changed (redacted)", and no digest is ever printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

REDACTED = "changed (redacted)"


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[secret") and value.endswith("]")


def _same_secret(before: Any, after: Any) -> bool:
    # A render without digests (an older revision) cannot tell: that is not a change we can show.
    return before == after or "[secret]" in (before, after)


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any = None
    after: Any = None
    redacted: bool = False

    def describe(self) -> str:
        if self.redacted:
            return f"{self.path}: {REDACTED}"
        if self.before is None:
            return f"{self.path}: added {json.dumps(self.after, sort_keys=True)}"
        if self.after is None:
            return f"{self.path}: removed (was {json.dumps(self.before, sort_keys=True)})"
        return f"{self.path}: {json.dumps(self.before, sort_keys=True)} -> {json.dumps(self.after, sort_keys=True)}"

    def as_json(self) -> dict[str, Any]:
        if self.redacted:
            return {"path": self.path, "change": REDACTED}
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, removed, changed
    fields: list[FieldChange] = field(default_factory=list)


def _walk(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if _is_secret(before) or _is_secret(after):
        if not (_is_secret(before) and _is_secret(after) and _same_secret(before, after)):
            out.append(FieldChange(path or ".", redacted=True))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in before:
                _walk(None, after[key], child, out)
            elif key not in after:
                _walk(before[key], None, child, out)
            else:
                _walk(before[key], after[key], child, out)
        return
    if before != after:
        if isinstance(before, dict) and after is None:
            for key in sorted(before, key=str):
                _walk(before[key], None, f"{path}.{key}" if path else str(key), out)
        elif isinstance(after, dict) and before is None:
            for key in sorted(after, key=str):
                _walk(None, after[key], f"{path}.{key}" if path else str(key), out)
        else:
            out.append(FieldChange(path or ".", before, after))


def structural_diff(before: dict[str, str], after: dict[str, str]) -> list[FileChange]:
    changes = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            changes.append(FileChange(path, "added"))
        elif path not in after:
            changes.append(FileChange(path, "removed"))
        elif before[path] != after[path]:
            fields: list[FieldChange] = []
            _walk(yaml.safe_load(before[path]), yaml.safe_load(after[path]), "", fields)
            if fields:
                changes.append(FileChange(path, "changed", fields))
    return changes


def counts(changes: list[FileChange]) -> dict[str, int]:
    return {status: sum(c.status == status for c in changes) for status in ("added", "removed", "changed")}


_SIGNS = {"added": ("+", "\033[32m"), "removed": ("-", "\033[31m"), "changed": ("~", "\033[33m")}


# `failures`: stacks that could not be reviewed (their one-line or one-list error); they are listed after the
# others, which are reviewed all the same (issue 21).
Failures = Mapping[str, str]
NONE: Failures = MappingProxyType({})


def format_text(
    per_stack: dict[str, list[FileChange]], labels: dict[str, str], color: bool = False, failures: Failures = NONE
) -> str:
    lines = []
    for stack, changes in per_stack.items():
        if not changes:
            lines.append(f"stack {stack}: no differences against {labels[stack]}")
            continue
        summary = ", ".join(f"{n} {s}" for s, n in counts(changes).items() if n)
        lines.append(f"stack {stack} against {labels[stack]}: {summary}")
        for change in changes:
            sign, tint = _SIGNS[change.status]
            head = f"{sign} {change.path}"
            lines.append(f"{tint}{head}\033[0m" if color else head)
            lines += [f"    {f.describe()}" for f in change.fields]
    lines += [f"stack {stack}: not reviewed: {message}" for stack, message in failures.items()]
    return "\n".join(lines) + "\n"


def format_markdown(per_stack: dict[str, list[FileChange]], labels: dict[str, str], failures: Failures = NONE) -> str:
    lines = [
        "<!-- cluster-tls diff -->",
        "### cluster-tls: what this change does to each stack",
        "",
        "| stack | compared with | added | removed | changed |",
        "|---|---|---|---|---|",
    ]
    for stack, changes in per_stack.items():
        n = counts(changes)
        lines.append(f"| `{stack}` | `{labels[stack]}` | {n['added']} | {n['removed']} | {n['changed']} |")
    lines += [f"| `{stack}` | `{labels[stack]}` | not reviewed | | |" for stack in failures]
    for stack, message in failures.items():
        lines += ["", f"<details><summary><code>{stack}</code>: not reviewed</summary>", "", "```", message, "```"]
        lines += ["", "</details>"]
    for stack, changes in per_stack.items():
        if not changes:
            continue
        lines += ["", f"<details><summary><code>{stack}</code>: {len(changes)} files</summary>", "", "```diff"]
        for change in changes:
            lines.append(f"{_SIGNS[change.status][0]} {change.path}")
            lines += [f"    {f.describe()}" for f in change.fields]
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"


def format_json(per_stack: dict[str, list[FileChange]], labels: dict[str, str], failures: Failures = NONE) -> str:
    document = {
        stack: {
            "against": labels[stack],
            "counts": counts(changes),
            "files": [{"path": c.path, "status": c.status, "fields": [f.as_json() for f in c.fields]} for c in changes],
        }
        for stack, changes in per_stack.items()
    }
    document.update({stack: {"against": labels[stack], "error": message} for stack, message in failures.items()})
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
