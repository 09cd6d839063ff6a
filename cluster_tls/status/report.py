"""`cluster-tls status` output: a line per component, then its details; or one JSON document."""

from __future__ import annotations

import json
from typing import Any

from .collect import Component
from .live import Unreadable

MARK = {"ok": "ok  ", "failing": "FAIL", "waiting": "WAIT", "unknown": "??  "}


def summary(components: list[Component], unreadable: list[Unreadable]) -> tuple[bool, str]:
    broken = [c for c in components if not c.working]
    if broken:
        return False, f"NOT WORKING: {len(broken)} of {len(components)} components"
    if unreadable:
        return False, f"NOT KNOWN: {len(components)} components working as far as read; {len(unreadable)} lists refused"
    return True, f"working: {len(components)} of {len(components)} components"


def as_text(stack: str, server: str, components: list[Component], unreadable: list[Unreadable]) -> str:
    working, headline = summary(components, unreadable)
    out = [f"stack {stack} on {server}: {headline}"]
    for component in components:
        out.append(f"  {'ok  ' if component.working else 'FAIL'} {component.title}")
    for component in components:
        out.append("")
        out.append(f"{component.title}:")
        for line in component.lines:
            out.append(f"  {MARK[line.state]} {line.subject}: {line.text}")
            if line.fix and line.state != "ok":
                out.append(f"         fix: {line.fix}")
    for gap in unreadable:
        out.append(f"note: {gap.describe()}")
    return "\n".join(out) + "\n"


def as_json(
    stack: str, server: str, components: list[Component], unreadable: list[Unreadable], **extra: Any
) -> dict[str, Any]:
    working, _ = summary(components, unreadable)
    return {
        "stack": stack,
        "server": server,
        "working": working,
        "components": [
            {
                "kind": c.kind,
                "name": c.name,
                "working": c.working,
                "lines": [{"subject": x.subject, "state": x.state, "text": x.text, "fix": x.fix} for x in c.lines],
            }
            for c in components
        ],
        "unreadable": [gap.describe() for gap in unreadable],
        **extra,
    }


def dumps(documents: list[dict[str, Any]]) -> str:
    return json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, sort_keys=True) + "\n"
