"""What differs between two renders of a stack, object by object and field by field.

A render is `{relative path: YAML text}` (cluster_tls.manifests.render_files). Secrets render as `[secret]` or,
under `diff`, as `[secret:<salted digest>]`: a secret whose digest differs is reported only as
"changed (redacted)", and no digest is ever printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from .stackfile import StackFileError, load_bounded

REDACTED = "changed (redacted)"
# A side rendered without digests (a render folder, an older revision) cannot tell a secret's change: said so,
# and counted as a difference, never taken for "the same" (issue 28).
UNKNOWN_SECRET = "may have changed (redacted; a render folder keeps no digest of a secret: --against-ref compares them)"


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[secret") and value.endswith("]")


def _digested(value: Any) -> bool:
    return value != "[secret]"


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any = None
    after: Any = None
    redacted: bool = False
    unknown: bool = False  # a secret whose change cannot be told (no digest on a side)

    @property
    def verdict(self) -> str:
        return UNKNOWN_SECRET if self.unknown else REDACTED

    def describe(self) -> str:
        if self.redacted:
            return f"{self.path}: {self.verdict}"
        if self.before is None:
            return f"{self.path}: added {json.dumps(self.after, sort_keys=True)}"
        if self.after is None:
            return f"{self.path}: removed (was {json.dumps(self.before, sort_keys=True)})"
        return f"{self.path}: {json.dumps(self.before, sort_keys=True)} -> {json.dumps(self.after, sort_keys=True)}"

    def as_json(self) -> dict[str, Any]:
        if self.redacted:
            return {"path": self.path, "change": self.verdict}
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, removed, changed
    fields: list[FieldChange] = field(default_factory=list)
    content: Any = None  # an added file's object, secrets as [secret]

    def content_lines(self) -> list[str]:
        if self.content is None:
            return []
        text = yaml.safe_dump(self.content, sort_keys=True, default_flow_style=False, allow_unicode=True)
        return [f"    {line}" for line in text.splitlines()]


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _child(path: str, key: Any) -> str:
    """`spec.servers`, `metadata.annotations["reflector.v1.k8s.emberstack.com/reflection-allowed"]`: a key with a
    dot (or anything but letters, digits, '_' and '-') is quoted, so that a path reads one way only (issue 20)."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _merge_key(before: list[Any], after: list[Any]) -> str | None:
    """`name`, when every element of both lists is an object with a distinct name: Kubernetes merges such lists by
    that key (containers, env, ports, volumes), so they are compared element by element by it."""
    for items in (before, after):
        names = [i.get("name") for i in items if isinstance(i, dict)]
        if len(names) != len(items) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            return None
    return "name" if before and after else None


def _walk_list(before: list[Any], after: list[Any], path: str, out: list[FieldChange]) -> None:
    key = _merge_key(before, after)
    if key is not None:
        old, new = {i[key]: i for i in before}, {i[key]: i for i in after}
        for name in [*old, *(n for n in new if n not in old)]:
            _walk(old.get(name), new.get(name), f"{path}[{key}={json.dumps(name)}]", out)
        return
    # Otherwise by position, as the engine's detailed diff (pulumi preview --diff) reports them: the offline diff
    # predicts the real preview's fields (tests/e2e/test_dev_stack.py).
    for index in range(max(len(before), len(after))):
        _walk(
            before[index] if index < len(before) else None,
            after[index] if index < len(after) else None,
            f"{path}[{index}]",
            out,
        )


def _walk(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if _is_secret(before) or _is_secret(after):
        both = _is_secret(before) and _is_secret(after)
        if both and not (_digested(before) and _digested(after)):
            out.append(FieldChange(path or ".", redacted=True, unknown=True))
        elif not (both and before == after):
            out.append(FieldChange(path or ".", redacted=True))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            _walk(before.get(key), after.get(key), _child(path, key), out)
        return
    if isinstance(before, list) and isinstance(after, list):
        _walk_list(before, after, path, out)
        return
    if before != after:
        if isinstance(before, dict) and after is None:
            for key in sorted(before, key=str):
                _walk(before[key], None, _child(path, key), out)
        elif isinstance(after, dict) and before is None:
            for key in sorted(after, key=str):
                _walk(None, after[key], _child(path, key), out)
        else:
            out.append(FieldChange(path or ".", before, after))


def _without_digests(value: Any) -> Any:
    """An added object as shown: its secrets as the plain marker, never their salted digests."""
    if isinstance(value, dict):
        return {k: _without_digests(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_digests(v) for v in value]
    return "[secret]" if _is_secret(value) else value


class DiffInputError(Exception):
    """A file to compare is not YAML the diff can read within the bounds of cluster_tls/stackfile.py."""


def _document(path: str, text: str) -> Any:
    try:
        return load_bounded(text, strict_keys=False)
    except (StackFileError, yaml.YAMLError, RecursionError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DiffInputError(f"{path}: cannot compare it: {reason[:300]}") from None


def structural_diff(before: dict[str, str], after: dict[str, str]) -> list[FileChange]:
    changes = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            content = _without_digests(_document(path, after[path]))
            changes.append(FileChange(path, "added", content=content))
        elif path not in after:
            changes.append(FileChange(path, "removed"))
        elif before[path] != after[path]:
            fields: list[FieldChange] = []
            _walk(_document(path, before[path]), _document(path, after[path]), "", fields)
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
            lines += change.content_lines()
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
            lines += _markdown_lines(change)
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"


def _markdown_lines(change: FileChange) -> list[str]:
    """In a ```diff block GitHub colours lines that start with '+' or '-' (and '!'): a changed field is its old value
    on a '-' line and its new one on a '+' line."""
    if change.status != "changed":
        sign = _SIGNS[change.status][0]
        return [f"{sign} {change.path}", *(f"{sign}{line[1:]}" for line in change.content_lines())]
    lines = [f"! {change.path}"]
    for f in change.fields:
        if f.redacted:
            lines.append(f"!     {f.path}: {f.verdict}")
            continue
        if f.before is not None:
            lines.append(f"-     {f.path}: {json.dumps(f.before, sort_keys=True)}")
        if f.after is not None:
            lines.append(f"+     {f.path}: {json.dumps(f.after, sort_keys=True)}")
    return lines


def format_json(per_stack: dict[str, list[FileChange]], labels: dict[str, str], failures: Failures = NONE) -> str:
    document = {
        stack: {
            "against": labels[stack],
            "counts": counts(changes),
            "files": [
                {
                    "path": c.path,
                    "status": c.status,
                    "fields": [f.as_json() for f in c.fields],
                    **({"content": c.content} if c.content is not None else {}),
                }
                for c in changes
            ],
        }
        for stack, changes in per_stack.items()
    }
    document.update({stack: {"against": labels[stack], "error": message} for stack, message in failures.items()})
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
