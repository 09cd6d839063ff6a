"""Rules, findings, waivers, and the text / JSON / SARIF forms of a result."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from .view import Obj, StackView

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    object: str  # kind namespace/name (resource)
    message: str  # one sentence: what to change
    waived: str = ""  # the written reason, when the stack waives the rule

    def line(self) -> str:
        waived = f" [waived: {self.waived}]" if self.waived else ""
        return f"{self.severity} {self.rule} {self.object}: {self.message}{waived}"

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    check: Callable[[StackView], Iterable[tuple[Obj | str, str]]]
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
            where = subject.describe() if isinstance(subject, Obj) else subject
            findings.append(Finding(r.id, r.severity, where, message, reasons.get(r.id, "")))
    return sorted(findings, key=lambda f: (f.severity != "error", f.rule, f.object))


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error" and not f.waived]


def format_text(findings: list[Finding], stack: str) -> str:
    if not findings:
        return f"stack {stack}: no findings\n"
    lines = [f.line() for f in findings]
    n_errors = len(errors(findings))
    lines.append(f"stack {stack}: {n_errors} errors, {len(findings) - n_errors} warnings or waived")
    return "\n".join(lines) + "\n"


def format_json(findings: list[Finding], stack: str) -> str:
    return json.dumps({"stack": stack, "findings": [f.as_json() for f in findings]}, indent=2, sort_keys=True) + "\n"


def format_sarif(findings: list[Finding], stack: str, location: str) -> str:
    """SARIF 2.1.0, for code-scanning annotations on pull requests (located at the stack file)."""
    from . import rules as _rules  # noqa: F401 - the catalogue

    used = sorted({f.rule for f in findings})
    catalogue = {r.id: r for r in RULES}
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cluster-tls",
                        "informationUri": "https://github.com/your-org/cluster-tls",
                        "rules": [
                            {"id": r, "shortDescription": {"text": catalogue[r].title}} for r in used if r in catalogue
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": f.rule,
                        "level": "error" if f.severity == "error" and not f.waived else "warning",
                        "message": {"text": f"{f.object}: {f.message}"},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": location}}}],
                        **({"suppressions": [{"kind": "inSource", "justification": f.waived}]} if f.waived else {}),
                    }
                    for f in findings
                ],
            }
        ],
    }
    return json.dumps(sarif, indent=2, sort_keys=True) + "\n"
