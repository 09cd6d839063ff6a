"""Mutation testing by a generated sample, not a hand-picked list (issue 19): every comparison, boolean operator,
`not`, `if` condition and number in a module is a mutation site; a seeded sample of them is applied one at a time,
and each mutant runs the tests that execute its line (coverage with a context per test, measured once; for a line
run at import, every test that runs the module). A mutant is killed when one of those tests fails.

    .venv/bin/python tools/mutation_sample.py [--sample 12] [--seed 19] [--json out.json]
        [--coverage-data FILE] [module.py ...]

Not part of CI (minutes per module). Needs `coverage` (in requirements-test.lock). The file is restored after
each mutant, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The modules the review sampled (issue 19: context.py 1 of 6, diffing.py 6 of 11, checks.py 5 of 9) and the others
# that decide what users see refused or accepted.
MODULES = (
    "components/context.py",
    "cluster_tls/diffing.py",
    "components/certmanager/checks.py",
    "components/hosts.py",
    "components/durations.py",
    "components/names.py",
    "components/inputs.py",
    "cluster_tls/stackfile.py",
    "components/secret_guard.py",
)
SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass(frozen=True)
class Site:
    index: int  # position in the walk order of `sites`
    line: int
    what: str


def _in_docstring_or_fstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return isinstance(parent, (ast.JoinedStr, ast.FormattedValue)) or isinstance(parent, ast.Expr)


def _candidates(tree: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """(node, description, op index) of every mutation site, in a fixed walk order."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[ast.AST, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in SWAPS:
                    found.append((node, f"{type(op).__name__} -> {SWAPS[type(op)].__name__}", i))
        elif isinstance(node, ast.BoolOp):
            found.append((node, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}", 0))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append((node, "not dropped", 0))
        elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
            found.append((node, "condition negated", 0))
        elif isinstance(node, ast.Constant) and not _in_docstring_or_fstring(node, parents):
            if isinstance(node.value, bool):
                found.append((node, f"{node.value} -> {not node.value}", 0))
            elif isinstance(node.value, int):
                found.append((node, f"{node.value} -> {node.value + 1}", 0))
    return found


def sites(source: str) -> list[Site]:
    return [Site(i, node.lineno, what) for i, (node, what, _) in enumerate(_candidates(ast.parse(source)))]


def mutant(source: str, site: Site) -> str:
    """`source` with the mutation at `site` applied (the whole module re-emitted by ast.unparse)."""
    tree = ast.parse(source)
    node, _, op_index = _candidates(tree)[site.index]
    if isinstance(node, ast.Compare):
        node.ops[op_index] = SWAPS[type(node.ops[op_index])]()
    elif isinstance(node, ast.BoolOp):
        node.op = SWAPS[type(node.op)]()
    elif isinstance(node, ast.UnaryOp):
        return ast.unparse(_replace(tree, node, node.operand))
    elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif isinstance(node, ast.Constant):
        node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
    return ast.unparse(tree)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> ast.AST:
    class Replace(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            return new if node is old else super().generic_visit(node)

    return Replace().visit(tree)


def sample(path: Path, count: int, seed: int) -> list[Site]:
    everything = sites(path.read_text())
    chosen = random.Random(f"{seed}:{path.as_posix()}").sample(everything, min(count, len(everything)))
    return sorted(chosen, key=lambda s: s.index)


def tests_by_line(data_file: Path, path: Path) -> dict[int, set[str]]:
    """Which tests (pytest node ids of their functions) ran each line of `path`, from coverage's contexts."""
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    measured = next((f for f in data.measured_files() if Path(f).resolve() == path.resolve()), None)
    if measured is None:
        return {}
    by_line: dict[int, set[str]] = {}
    for line, contexts in data.contexts_by_lineno(measured).items():
        for context in contexts:
            if context:
                by_line.setdefault(line, set()).add(_node_id(context))
    return by_line


def _node_id(context: str) -> str:
    """`tests.test_x.test_fn` (coverage's test_function context) -> `tests/test_x.py::test_fn`."""
    parts = context.split(".")
    module = next(i for i in range(len(parts), 0, -1) if (REPO / Path(*parts[:i])).with_suffix(".py").is_file())
    return f"{Path(*parts[:module]).as_posix()}.py::{'::'.join(parts[module:])}"


def measure_coverage(data_file: Path) -> None:
    rc = data_file.with_suffix(".rc")
    rc.write_text("[run]\ndynamic_context = test_function\nsource = components,cluster_tls,stacks\n")
    command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", f"--data-file={data_file}", "-m", "pytest"]
    subprocess.run([*command, "-q", "-p", "no:cacheprovider", "tests", "--ignore=tests/e2e"], cwd=REPO, check=False)


def run(module: str, count: int, seed: int, data_file: Path) -> dict:
    path = REPO / module
    original = path.read_text()
    covering = tests_by_line(data_file, path)
    # A line that runs at import (a field's default, a constant) has no test's context: every test that runs any
    # line of the module may notice it.
    exercising = set().union(*covering.values()) if covering else set()
    results = []
    try:
        for site in sample(path, count, seed):
            tests = sorted(covering.get(site.line) or exercising)
            killed = False
            if tests:
                path.write_text(mutant(original, site))
                done = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                path.write_text(original)
                killed = done.returncode != 0
            results.append({"line": site.line, "mutation": site.what, "tests": len(tests), "killed": killed})
            print(f"{'killed  ' if killed else 'SURVIVED'} {module}:{site.line} {site.what} ({len(tests)} tests)")
    finally:
        path.write_text(original)
    killed = sum(r["killed"] for r in results)
    return {"module": module, "killed": killed, "sampled": len(results), "mutants": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--sample", type=int, default=12, help="mutants per module")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--coverage-data", type=Path, help="keep (or reuse) the per-test coverage here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_file = args.coverage_data or Path(scratch) / "coverage"
        if not data_file.is_file():
            measure_coverage(data_file)
        report = [run(module, args.sample, args.seed, data_file) for module in args.modules]
    print("\n| module | killed | sampled | score |\n| --- | ---: | ---: | ---: |")
    for row in report:
        print(
            f"| {row['module']} | {row['killed']} | {row['sampled']} | {row['killed'] / max(row['sampled'], 1):.0%} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "modules": report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
