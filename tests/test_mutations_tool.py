"""tools/mutations.py lists mutations the suite must catch; each must still apply to today's code."""

import runpy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_mutation_still_finds_the_code_it_changes():
    mutations = runpy.run_path(str(REPO / "tools" / "mutations.py"), run_name="listing")["M"]
    assert len(mutations) >= 17
    for name, path, old, _new in mutations:
        assert old in (REPO / path).read_text(), name


def _sampler():
    return runpy.run_path(str(REPO / "tools" / "mutation_sample.py"), run_name="listing")


SOURCE = '''
def f(a, b):
    """A docstring 1 is no site."""
    if a < b and not a:
        return 3
    return f"{a} 5" if a == b else True
'''


def test_the_sample_is_generated_from_every_site_and_each_mutant_changes_only_its_site():
    sampler = _sampler()
    found = [(s.line, s.what) for s in sampler["sites"](SOURCE)]
    assert sorted(found) == sorted(
        [
            (4, "condition negated"),
            (4, "And -> Or"),
            (4, "Lt -> LtE"),
            (4, "not dropped"),
            (5, "3 -> 4"),
            (6, "condition negated"),
            (6, "Eq -> NotEq"),
            (6, "True -> False"),
        ]
    )
    import ast

    original = ast.dump(ast.parse(SOURCE))
    for site in sampler["sites"](SOURCE):
        changed = sampler["mutant"](SOURCE, site)
        compile(changed, "mutant", "exec")
        assert ast.dump(ast.parse(changed)) != original, site


def test_the_sample_is_seeded_per_module_and_covers_the_reviewed_modules():
    sampler = _sampler()
    path = REPO / "components" / "context.py"
    first = sampler["sample"](path, 5, 19)
    assert first == sampler["sample"](path, 5, 19) and len(first) == 5
    assert first != sampler["sample"](path, 5, 20)
    assert {"components/context.py", "cluster_tls/diffing.py", "components/certmanager/checks.py"} <= set(
        sampler["MODULES"]
    )
    assert sampler["_node_id"]("tests.test_diff.test_lists_by_name") == "tests/test_diff.py::test_lists_by_name"
