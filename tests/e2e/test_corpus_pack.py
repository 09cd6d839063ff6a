"""The corpus's hand-written objects (tests/corpus/objects.yaml) through the policy pack under pulumi-policy's own
analyzer, in the pack's own virtual environment: the pack and `check` find the same rules at the same severities
on every case (issue 18: the pack once saw empty specs under the real runtime while its tests fed plain dicts)."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

from tests.e2e.engine import REPO
from tests.test_corpus import OBJECTS, documents, object_findings


def test_the_pack_under_pulumi_policy_agrees_with_check_on_every_corpus_case(policy_pack):
    python = policy_pack.parent / "venv" / "bin" / "python"  # the pack folder links the fixture's venv
    cases = [
        {"id": case["id"], "documents": documents(case), "production": case.get("production", False)}
        for case in OBJECTS["cases"]
    ]
    # -P: the script's folder (tests/e2e, with its own secrets.py) must not shadow the standard library
    ran = subprocess.run(
        [str(python), "-P", str(REPO / "tests" / "e2e" / "analyzer_corpus.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    pack = json.loads(ran.stdout)
    assert set(pack) == {case["id"] for case in OBJECTS["cases"]}
    for case in OBJECTS["cases"]:
        offline = Counter((rule.upper(), severity) for rule, severity, _ in object_findings(case))
        assert Counter(tuple(f) for f in pack[case["id"]]) == offline, case["id"]
    assert sum(bool(found) for found in pack.values()) >= 30  # the pack sees the specs: most cases have findings
