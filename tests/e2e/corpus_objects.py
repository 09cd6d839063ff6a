"""Every object of the corpus as the real judges receive it: the hand-written cases of tests/corpus/objects.yaml,
then what the components make for each shipped stack and each stack-file case (`cluster-tls render --out -`)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import yaml

from cluster_tls.cli import main
from tests.test_corpus import OBJECTS, STACKS, _project, documents

REPO = Path(__file__).resolve().parents[2]
SHIPPED_STACKS = ("dev", "staging", "prod")

Program = tuple[str, list[dict[str, Any]]]  # (case, its objects and HelmRelease lines)


def rendered(folder: Path, config: dict[str, Any] | None, stack: str) -> list[dict[str, Any]]:
    """The objects `cluster-tls render --out -` writes for a shipped stack (config None) or a stack-file case; a
    chart release as the corpus writes one (`kind: HelmRelease`, its values left out)."""
    folder.mkdir(parents=True)
    project = _project(folder, config) if config is not None else REPO
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--project-dir", str(project), "render", "--stack", stack, "--out", "-"])
    assert code in (0, 1), f"render of {stack} failed ({code})"
    objects = []
    for doc in yaml.safe_load_all(out.getvalue()):
        if isinstance(doc, dict) and "apiVersion" in doc:
            objects.append(doc)
        elif isinstance(doc, dict) and "chart" in doc:  # a release's release.yaml (its values.yaml follows it)
            objects.append({"kind": "HelmRelease", **doc})
    return objects


def corpus_programs(folder: Path) -> list[Program]:
    programs = [(case["id"], documents(case)) for case in OBJECTS["cases"]]
    for stack in SHIPPED_STACKS:
        programs.append((f"stack {stack}", rendered(folder / stack, None, stack)))
    for case in STACKS["cases"]:
        if isinstance(case["expect"], dict) and "refused" in case["expect"]:
            continue  # refused before anything is made
        programs.append((case["id"], rendered(folder / case["id"], case["config"], "c")))
    return programs
