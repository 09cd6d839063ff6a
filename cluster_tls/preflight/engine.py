"""Rules, findings, waivers, and the text / JSON / SARIF forms of a result."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .view import Obj, Release, StackView

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    object: str  # kind namespace/name (resource)
    message: str  # one sentence: what to change
    waived: str = ""  # the written reason, when the stack waives the rule
    urn: str = ""  # the Pulumi resource the object comes from, where there is one

    def line(self) -> str:
        waived = f" [waived: {self.waived}]" if self.waived else ""
        return f"{self.severity} {self.rule} {self.object}: {self.message}{waived}"

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v != "" and k != "urn"}


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    check: Callable[[StackView], Iterable[tuple[Obj | Release | str, str]]]
    per_object: bool = False  # decides from one object alone (a policy-pack resource policy)


RULES: list[Rule] = []


def rule(id: str, severity: Severity, title: str, *, per_object: bool = False):
    def register(check):
        RULES.append(Rule(id, severity, title, check, per_object))
        return check

    return register


def run_rules(view: StackView, waivers: Iterable[Waiver] = (), rules: Iterable[Rule] | None = None) -> list[Finding]:
    reasons = {w.rule: w.reason for w in waivers}
    findings = []
    for r in rules if rules is not None else RULES:
        for subject, message in r.check(view):
            where = subject.describe() if isinstance(subject, Obj | Release) else subject
            urn = subject.urn if isinstance(subject, Obj | Release) else ""
            findings.append(Finding(r.id, r.severity, where, message, reasons.get(r.id, ""), urn))
    # The message too: two findings of one rule on one object come out in one order whatever the hash seed
    # (issue 31: finding order depended on PYTHONHASHSEED).
    return sorted(findings, key=lambda f: (f.severity != "error", f.rule, f.object, f.message))


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error" and not f.waived]


def format_text(findings: list[Finding], stack: str) -> str:
    if not findings:
        return f"stack {stack}: no findings\n"
    lines = [f.line() for f in findings]
    n_errors = len(errors(findings))
    lines.append(f"stack {stack}: {n_errors} errors, {len(findings) - n_errors} warnings or waived")
    return "\n".join(lines) + "\n"


def _json_document(findings: list[Finding], stack: str) -> dict[str, Any]:
    return {"stack": stack, "findings": [f.as_json() for f in findings]}


def format_json(results: dict[str, list[Finding]]) -> str:
    """One JSON document: a stack's `{stack, findings}`, or `{stacks: [...]}` for several (issue 20)."""
    documents = [_json_document(findings, stack) for stack, findings in results.items()]
    body = documents[0] if len(documents) == 1 else {"stacks": documents}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


INFORMATION_URI = "https://pypi.org/project/cluster-tls/"  # pyproject.toml [project.urls] Homepage


def _sarif_run(findings: list[Finding], stack: str, location: str, line_of: Callable[[Finding], int | None]) -> dict:
    used = sorted({f.rule for f in findings})
    catalogue = {r.id: r for r in RULES}

    def where(finding: Finding) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": location}}
        line = line_of(finding)
        if line is not None:  # the stack-file key that made the object
            physical["region"] = {"startLine": line}
        return {"physicalLocation": physical}

    return {
        "automationDetails": {"id": f"cluster-tls/{stack}/"},  # one category per stack in code scanning
        "tool": {
            "driver": {
                "name": "cluster-tls",
                "informationUri": INFORMATION_URI,
                "rules": [{"id": r, "shortDescription": {"text": catalogue[r].title}} for r in used if r in catalogue],
            }
        },
        "results": [
            {
                "ruleId": f.rule,
                "level": "error" if f.severity == "error" and not f.waived else "warning",
                "message": {"text": f"{f.object}: {f.message}"},
                "locations": [where(f)],
                **({"suppressions": [{"kind": "inSource", "justification": f.waived}]} if f.waived else {}),
            }
            for f in findings
        ],
    }


def format_sarif(results: dict[str, tuple[list[Finding], str, Callable[[Finding], int | None]]]) -> str:
    """One SARIF 2.1.0 log, one run per stack (each located at its stack file, at the line of the key that made
    the object where that is known), for code-scanning annotations: code scanning takes one log per upload
    (issue 20)."""
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            _sarif_run(findings, stack, location, line_of) for stack, (findings, location, line_of) in results.items()
        ],
    }
    return json.dumps(sarif, indent=2, sort_keys=True) + "\n"
