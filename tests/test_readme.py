"""The README against the behaviour it describes (issue 31: thirteen places differed, among them flags nobody had
documented). Each list here is read from the code, not written down: the CLI's parser, the environment variables
the package reads, the rules registered, the Makefile's targets and the repository's files."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from cluster_tls.cli import _parser
from cluster_tls.preflight.engine import RULES

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
# The review's protocol with the process rendering the base side (cluster_tls/revision.py): not for users.
INTERNAL_FLAGS = {"--salted-for-diff"}
INTERNAL_VARIABLES = {"CLUSTER_TLS_SECRET_SALT"}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **sub.choices}


def _flags(parser: argparse.ArgumentParser) -> dict[str, bool]:
    """Each long option -> whether its help is shown."""
    return {
        option: action.help != argparse.SUPPRESS
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def test_every_command_and_flag_is_documented():
    missing = []
    for name, parser in _commands().items():
        if name and f"cluster-tls {name}" not in README:
            missing.append(f"command {name}")
        for flag, shown in _flags(parser).items():
            if shown and not re.search(rf"{re.escape(flag)}\b", README):
                missing.append(f"{name or 'cluster-tls'} {flag}")
    assert missing == []


def test_only_the_internal_protocol_is_hidden_from_help():
    hidden = {flag for parser in _commands().values() for flag, shown in _flags(parser).items() if not shown}
    assert hidden == INTERNAL_FLAGS


def test_every_environment_variable_the_package_reads_is_documented():
    sources = [*(REPO / "cluster_tls").rglob("*.py"), *(REPO / "components").rglob("*.py")]
    read = {name for path in sources for name in re.findall(r"\bCLUSTER_TLS_[A-Z_]+\b", path.read_text())}
    assert read > INTERNAL_VARIABLES
    assert sorted(name for name in read - INTERNAL_VARIABLES if name not in README) == []


def test_every_rule_is_in_the_readmes_table():
    rows = "\n".join(line for line in README.splitlines() if line.startswith("| "))
    assert sorted(r.id for r in RULES if not re.search(rf"\b{re.escape(r.id)}\b", rows)) == []


def test_every_make_target_and_repository_file_the_readme_names_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README))
    assert targets and sorted(t for t in targets if not re.search(rf"^{t}:", makefile, re.M)) == []
    tops = {p.name for p in REPO.iterdir() if p.name not in (".git", ".venv")}
    named = {p for p in re.findall(r"`([\w.-]+(?:/[\w.*-]+)+/?)`", README) if p.split("/")[0] in tops}
    assert len(named) > 20
    assert sorted(p for p in named if "*" not in p and not (REPO / p).exists()) == []
