"""tools/mutations.py lists mutations the suite must catch; each must still apply to today's code."""

import runpy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_mutation_still_finds_the_code_it_changes():
    mutations = runpy.run_path(str(REPO / "tools" / "mutations.py"), run_name="listing")["M"]
    assert len(mutations) >= 17
    for name, path, old, _new in mutations:
        assert old in (REPO / path).read_text(), name
