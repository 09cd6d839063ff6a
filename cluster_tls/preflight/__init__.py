"""Preflight: rules over a whole evaluated stack (every object, Helm values, the dependency graph, the objects charts
create), run before anything reaches a cluster. One implementation serves `cluster-tls check|preview|render` and
the Pulumi policy pack in policy/. Rule groups follow ../shared/notes/field-failures.md ("Checks a tool could run").
"""

from . import rules  # registers every rule with the engine (which imports none of them back)
from .engine import Finding, Waiver, run_rules
from .view import Obj, StackView

__all__ = ["Finding", "Obj", "StackView", "Waiver", "rules", "run_rules"]
