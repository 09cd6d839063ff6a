"""A pull-request review never says "no differences" when there are (issue 28).

Each class below builds a repository where a pull request changes exactly one input, and requires the review
(`diff --all-stacks --against-ref`, which skips a side whose recorded inputs are the same) to print what the full
review (`--evaluate-all`) prints, and both to agree with the truth: each side checked out and rendered from
scratch, then compared. The property test does the same for random pull requests over generated repositories.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_tls import pool
from cluster_tls.cli import main
from cluster_tls.diffing import structural_diff

from .support.repository import REPO, commit_all, committed_copy, git, platform_repository

EXAMPLE = REPO / "examples" / "platform"
CLI = [sys.executable, "-m", "cluster_tls.cli"]


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cluster-tls` as a separate process (as CI runs it), in the project folder."""
    return subprocess.run(
        [*CLI, "--project-dir", str(root), *args],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def review(root: Path, *extra: str, program: Path | None = None) -> tuple[int, str, str]:
    """The review in this process: (exit status, JSON, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    args = ["--project-dir", str(root), "diff", "--program", str(program or root), "--all-stacks"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--against-ref", "HEAD", "--format", "json", *extra])
    return code, out.getvalue(), err.getvalue()


def truth(root: Path, tmp: Path, program: str = ".") -> dict[str, object]:
    """Each side checked out on its own and rendered from scratch; their differences per stack."""
    base = tmp / f"truth-base-{time.monotonic_ns()}"
    git(root, "worktree", "add", "-q", "--detach", str(base), "HEAD")
    try:
        sides = {}
        for name, folder in (("base", base), ("current", root)):
            out = tmp / f"truth-{name}-{time.monotonic_ns()}"
            result = run(folder, "render", "--program", str(folder / program), "--all-stacks", "--out", str(out))
            assert result.returncode in (0, 2), result.stderr
            sides[name] = {
                stack.name: {str(p.relative_to(stack)): p.read_text() for p in sorted(stack.rglob("*.yaml"))}
                for stack in (out.iterdir() if out.exists() else [])
            }
    finally:
        git(root, "worktree", "remove", "--force", str(base))
    stacks = sorted(set(sides["current"]))
    return {
        stack: bool(structural_diff(sides["base"].get(stack, {}), sides["current"][stack]))
        for stack in stacks
        if stack in sides["base"]
    }


def changed(document: str) -> dict[str, object]:
    parsed = json.loads(document)
    return {stack: bool(entry.get("files")) for stack, entry in parsed.items() if "error" not in entry}


def assert_sound(root: Path, tmp: Path, *, expect_changes: bool | None = None) -> dict[str, object]:
    fast = review(root)
    full = review(root, "--evaluate-all")
    assert fast[1] == full[1], (fast, full)
    assert fast[0] == full[0]
    found = changed(fast[1])
    assert found == truth(root, tmp), (found, fast[2])
    if expect_changes is not None:
        assert any(found.values()) == expect_changes, fast
    return found


@pytest.fixture
def platform(tmp_path) -> Path:
    return platform_repository(tmp_path / "platform")


def program_reads(root: Path, code: str) -> None:
    """The program labels its CA with what `code` computes into LABEL (short: a CA name is at most 64 bytes)."""
    program = (root / "__main__.py").read_text()
    program = program.replace("import pulumi\n", f"import pulumi\n\n{code}\n", 1)
    program = program.replace('ca_common_name=f"{domain} CA"', 'ca_common_name=f"{domain} CA {LABEL}"')
    assert "LABEL}" in program
    (root / "__main__.py").write_text(program)


def test_a_stack_reading_another_stack_file_is_reviewed_when_that_file_changes(platform, tmp_path):
    program_reads(
        platform,
        "import pathlib, yaml\n"
        "LABEL = yaml.safe_load((pathlib.Path(__file__).parent / 'Pulumi.shared.yaml').read_text())"
        "['config']['platform-example:owner']",
    )
    (platform / "Pulumi.shared.yaml").write_text(
        "config:\n  platform-example:domain: shared.example.internal\n  platform-example:services: []\n"
        "  platform-example:owner: ops\n"
    )
    commit_all(platform)
    shared = platform / "Pulumi.shared.yaml"
    shared.write_text(shared.read_text().replace("owner: ops", "owner: sre"))
    found = assert_sound(platform, tmp_path)
    assert found == dict.fromkeys(("dev", "prod", "shared", "staging"), True)


def test_a_dependency_bump_is_not_judged(platform):
    (platform / "requirements.lock").write_text("cluster-tls==0.2.1\n")
    for extra in ((), ("--evaluate-all",)):
        code, document, _ = review(platform, *extra)
        assert code == 1
        for stack in ("dev", "prod", "staging"):
            error = json.loads(document)[stack]["error"]
            assert "not judged: dependencies changed (requirements.lock: cluster-tls==0.2.0 -> cluster-tls==0.2.1)" in (
                error
            )


def test_a_vendored_package_on_the_import_path_is_read_from_the_base_at_the_base(platform, tmp_path):
    vendor = platform / "vendor" / "teamlib"
    vendor.mkdir(parents=True)
    (vendor / "__init__.py").write_text("LABEL = 'lib1'\n")
    program_reads(platform, "from teamlib import LABEL")
    commit_all(platform)
    (vendor / "__init__.py").write_text("LABEL = 'lib2'\n")
    env = {"PYTHONPATH": str(platform / "vendor")}
    args = ["diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD", "--format", "json"]
    fast, full = run(platform, *args, env=env), run(platform, *args, "--evaluate-all", env=env)
    assert fast.returncode == full.returncode == 1, fast.stderr
    assert fast.stdout == full.stdout
    assert changed(fast.stdout) == dict.fromkeys(("dev", "prod", "staging"), True)
    assert "lib1" in fast.stdout and "lib2" in fast.stdout


def test_an_executable_bit_the_program_tests_is_a_change(platform, tmp_path):
    (platform / "hook.sh").write_text("#!/bin/sh\n")
    program_reads(
        platform,
        "import os, pathlib\nLABEL = 'x' if os.access(pathlib.Path(__file__).parent / 'hook.sh', os.X_OK) else 'n'",
    )
    commit_all(platform)
    (platform / "hook.sh").chmod(0o755)
    assert_sound(platform, tmp_path, expect_changes=True)


@pytest.mark.parametrize("attribute", ["export-ignore", "export-subst"])
def test_git_attributes_do_not_change_the_base(platform, tmp_path, attribute):
    (platform / "label.txt").write_text("v1 $Format:%h$\n")
    (platform / ".gitattributes").write_text(f"label.txt {attribute}\n")
    program_reads(
        platform,
        "import pathlib\nLABEL = (pathlib.Path(__file__).parent / 'label.txt').read_text().split()[0]",
    )
    commit_all(platform)
    (platform / "README.md").write_text("# unrelated\n")
    assert assert_sound(platform, tmp_path, expect_changes=False)
    (platform / "label.txt").write_text("v2 $Format:%h$\n")
    assert_sound(platform, tmp_path, expect_changes=True)


def test_project_config_in_pulumi_yaml_is_read_as_the_cli_reads_it(platform, tmp_path):
    project = platform / "Pulumi.yaml"
    project.write_text(project.read_text() + "config:\n  owner:\n    type: string\n    default: ops\n")
    program_reads(platform, "LABEL = pulumi.Config().require('owner')")
    commit_all(platform)
    project.write_text(project.read_text().replace("default: ops", "default: sre"))
    found = assert_sound(platform, tmp_path)
    assert found == dict.fromkeys(("dev", "prod", "staging"), True)
    code, document, _ = review(platform)
    assert "CA ops" in document and "CA sre" in document


def test_a_stack_importing_an_esc_environment_is_named(platform):
    prod = platform / "Pulumi.prod.yaml"
    prod.write_text("environment:\n  - platform/prod\n" + prod.read_text())
    code, document, _ = review(platform)
    assert code == 1
    error = json.loads(document)["prod"]["error"]
    assert "imports Pulumi ESC environment(s) platform/prod" in error and "cannot be evaluated offline" in error


@pytest.mark.parametrize("how", ["deleted", "renamed"])
def test_a_removed_stack_file_is_in_every_format(platform, how):
    prod = platform / "Pulumi.prod.yaml"
    if how == "renamed":
        prod.rename(platform / "Pulumi.production.yaml")
    else:
        prod.unlink()
    for form in ("text", "markdown", "json"):
        out, err = io.StringIO(), io.StringIO()
        args = ["--project-dir", str(platform), "diff", "--program", str(platform), "--all-stacks"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--against-ref", "HEAD", "--format", form])
        assert code == 1
        assert "stack file removed" in out.getvalue(), (form, out.getvalue())
        assert "Pulumi.prod.yaml" in out.getvalue()
    one = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(one):
        assert main(["--project-dir", str(platform), "diff", "--program", str(platform), "--stack", "prod",
                     "--against-ref", "HEAD"]) == 1  # fmt: skip
    assert "error: stack 'prod': stack file removed" in one.getvalue()


def test_a_rotated_credential_is_changed_redacted(tmp_path):
    root = committed_copy(REPO, tmp_path / "repo")
    staging = root / "stacks" / "Pulumi.staging.yaml"
    staging.write_text(
        staging.read_text().replace(
            "    email: platform@example.com\n",
            "    email: platform@example.com\n    credentials:\n"
            "      secretId: {secure: v1:AAAAAAAAAAAAAAAA}\n      secretKey: {secure: v1:BBBBBBBBBBBBBBBB}\n",
            1,
        )
    )
    commit_all(root)
    staging.write_text(staging.read_text().replace("v1:AAAAAAAAAAAAAAAA", "v1:CCCCCCCCCCCCCCCC"))
    result = subprocess.run(
        [*own_code(root), "--project-dir", str(root), "diff", "--stack", "staging", "--against-ref", "HEAD"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert "stringData.secretId: changed (redacted)" in result.stdout
    assert "secretKey" not in result.stdout and "AAAA" not in result.stdout and "CCCC" not in result.stdout


def own_code(root: Path) -> list[str]:
    from cluster_tls.revision import own_code_command

    return own_code_command(root)


def test_stacks_that_cannot_be_evaluated_are_never_clean(platform):
    # Another team's repository reviewed without --program: the package's own program cannot read their stacks.
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--project-dir", str(platform), "diff", "--all-stacks", "--against-ref", "HEAD"])
    assert code == 2, out.getvalue()
    assert "no differences" not in out.getvalue()
    assert err.getvalue().count("error: stack") == 3


def test_a_project_in_a_subfolder_of_its_repository(tmp_path):
    repository = tmp_path / "repository"
    shutil.copytree(EXAMPLE, repository / "infra")
    (repository / "README.md").write_text("# app\n")
    git(repository, "init", "-q", "-b", "main")
    commit_all(repository)
    infra = repository / "infra"
    dev = infra / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("apps.example.internal", "apps2.example.internal"))
    result = run(infra, "diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD")
    assert result.returncode == 1, result.stderr
    assert "stack dev against HEAD" in result.stdout and "apps2.example.internal" in result.stdout
    # --program naming a folder below the project, from the repository's top
    copy = committed_copy(REPO, tmp_path / "copy")
    stack = copy / "examples" / "platform" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("apps.example.internal", "apps3.example.internal"))
    result = subprocess.run(
        [*own_code(copy), "--project-dir", str(copy / "examples" / "platform"), "diff", "--program",
         "examples/platform", "--all-stacks", "--against-ref", "HEAD"],
        capture_output=True, text=True, cwd=copy,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "apps3.example.internal" in result.stdout


def test_absolute_links_and_stack_files_outside_the_repository(platform, tmp_path):
    (platform / "hostname").symlink_to("/etc/hostname")
    commit_all(platform)
    code, document, err = review(platform)
    assert code == 0, err
    outside = tmp_path / "config"
    outside.mkdir()
    shutil.copy(platform / "Pulumi.dev.yaml", outside / "Pulumi.dev.yaml")
    project = platform / "Pulumi.yaml"
    project.write_text(project.read_text() + f"stackConfigDir: {os.path.relpath(outside, platform)}\n")
    code, document, err = review(platform)
    assert code == 1, err
    assert "not judged: its stack file" in json.loads(document)["dev"]["error"]
    assert "error: stack 'dev': not judged: its stack file" in err and "is outside the repository" in err


# -- faults ----------------------------------------------------------------------------------------------------


def _killer(platform: Path, tmp_path: Path, how: str, always: bool) -> None:
    flag = tmp_path / "killed-once"
    program_reads(
        platform,
        "import os, signal\nLABEL = 'k'\n"
        f"if pulumi.get_stack() == 'prod' and ({always!r} or not os.path.exists({str(flag)!r})):\n"
        f"    open({str(flag)!r}, 'w').close()\n"
        f"    os.kill(os.getpid(), signal.{how})\n",
    )
    commit_all(platform)
    dev = platform / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text() + "# changed\n")


def test_a_killed_worker_is_retried_once_in_a_fresh_one(platform, tmp_path):
    _killer(platform, tmp_path, "SIGKILL", always=False)
    result = run(platform, "diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD", "--evaluate-all")
    assert result.returncode == 0, result.stderr  # the comment changes no object
    assert result.stdout.count("no differences") == 3
    assert (tmp_path / "killed-once").exists()


def test_a_worker_killed_every_time_fails_only_its_stack(platform, tmp_path):
    _killer(platform, tmp_path, "SIGKILL", always=True)
    result = run(platform, "diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD")
    assert result.returncode == 2
    assert "error: stack 'prod': the worker evaluating it ended (signal SIGKILL), twice" in result.stderr
    assert "stack dev: no differences" in result.stdout and "stack staging: no differences" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_stopped_worker_runs_into_the_time_limit(platform, tmp_path):
    _killer(platform, tmp_path, "SIGSTOP", always=True)
    started = time.monotonic()
    result = run(
        platform,
        "diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD",
        env={pool.TIME_LIMIT_VARIABLE: "5"},
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert result.returncode == 2
    assert "no result after 5 s (CLUSTER_TLS_STACK_TIMEOUT)" in result.stderr
    assert "stack dev: no differences" in result.stdout


def _scratch() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("cluster-tls-rev-*")}


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL])
def test_an_ended_review_leaves_no_process_and_no_scratch_folder(platform, tmp_path, signal_number):
    program_reads(platform, "import time\nLABEL = 's'\ntime.sleep(30) if pulumi.get_stack() != 'dev' else None")
    commit_all(platform)
    (platform / "Pulumi.prod.yaml").write_text((platform / "Pulumi.prod.yaml").read_text() + "# x\n")
    before = _scratch()
    process = subprocess.Popen(
        [*CLI, "--project-dir", str(platform), "diff", "--program", ".", "--all-stacks", "--against-ref", "HEAD"],
        cwd=platform,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, pool.WORKERS_VARIABLE: "2"},
    )
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(process.pid)) < 3:  # the base's process and two workers
            assert time.monotonic() < deadline, "the review did not start its workers"
            time.sleep(0.2)
        family = _descendants(process.pid)
        process.send_signal(signal_number)
        process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while [pid for pid in family if _alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in family if _alive(pid)] == []
    finally:
        process.kill()
    if signal_number == signal.SIGKILL:  # no chance to clean up: the next review sweeps it
        (platform / "Pulumi.prod.yaml").write_text((platform / "Pulumi.prod.yaml").read_text().replace("# x\n", ""))
        program = (platform / "__main__.py").read_text().replace("time.sleep(30)", "time.sleep(0)")
        (platform / "__main__.py").write_text(program)
        run(platform, "diff", "--program", ".", "--stack", "dev", "--against-ref", "HEAD")
    assert _scratch() <= before


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        here = todo.pop()
        try:
            for task in Path(f"/proc/{here}/task").iterdir():
                children = {int(p) for p in (task / "children").read_text().split()}
                found |= children
                todo += children
        except FileNotFoundError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# -- random pull requests ----------------------------------------------------------------------------------------

SEEDS = int(os.environ.get("CLUSTER_TLS_PROPERTY_SEEDS", "10"))
FILES = ["data/a.txt", "data/b.txt", "data/run.sh", "data/unread.txt", "notes.md", "Pulumi.dev.yaml",
         "Pulumi.staging.yaml"]  # fmt: skip

READER = """import hashlib, os, pathlib
_here = pathlib.Path(__file__).parent
_data = _here / 'data'
_seen = []
_seen.append((_data / 'a.txt').read_text() if (_data / 'a.txt').exists() else '-')
_seen.append(str((_data / 'b.txt').exists()))
for _p in sorted(_data.iterdir()) if _data.is_dir() else []:
    _seen.append((_p.name, os.access(_p, os.X_OK)))
_other = _here / 'Pulumi.staging.yaml'
_seen.append(len(_other.read_text()) if _other.exists() else 0)
from {module} import VALUE as _value
_seen.append(_value)
LABEL = hashlib.sha256(repr(_seen).encode()).hexdigest()[:8]
"""


def _generated(root: Path, seed: int) -> str:
    shutil.copytree(EXAMPLE, root)
    module = f"helpers_{seed}_{os.getpid()}"
    (root / f"{module}.py").write_text("VALUE = 'one'\n")
    (root / "data").mkdir()
    for name in FILES[:4]:
        (root / name).write_text(f"{name} v1\n")
    (root / "notes.md").write_text("notes\n")
    (root / "requirements.lock").write_text("cluster-tls==0.2.0\n")
    program_reads(root, READER.format(module=module))
    (root / "Pulumi.staging.yaml").write_text((root / "Pulumi.dev.yaml").read_text().replace("apps.", "stg."))
    git(root, "init", "-q", "-b", "main")
    commit_all(root)
    return module


def _random_change(root: Path, module: str, rng: random.Random) -> str:
    files = [*FILES, f"{module}.py"]
    target = root / rng.choice(files)
    kind = rng.choice(["content", "mode", "link", "delete", "rename", "lock", "attribute", "add"])
    if kind == "content" and target.exists():
        text = target.read_text()
        target.write_text(text.replace("one", "two") if "VALUE" in text else text + "# more\n")
    elif kind == "mode" and target.exists():
        target.chmod(target.stat().st_mode ^ 0o100)
    elif kind == "link" and target.exists():
        other = rng.choice([f for f in FILES[:4] if root / f != target])
        target.unlink()
        target.symlink_to(os.path.relpath(root / other, target.parent))
    elif kind == "delete" and target.exists() and not target.name.startswith("Pulumi."):
        target.unlink()
    elif kind == "rename" and target.exists() and target.suffix != ".py":
        target.rename(target.with_name("renamed-" + target.name))
    elif kind == "lock":
        (root / "requirements.lock").write_text("cluster-tls==0.2.1\n")
    elif kind == "attribute":
        (root / ".gitattributes").write_text(f"{target.relative_to(root)} export-ignore\n")
    else:
        (root / "data" / "new.txt").write_text("new\n")
        kind = "add"
    return f"{kind} {target.relative_to(root)}"


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_pull_requests_fast_equals_full_equals_truth(tmp_path, seed):
    rng = random.Random(seed)
    root = tmp_path / "generated"
    module = _generated(root, seed)
    warm = review(root)  # the records of every stack before the change (cluster_tls/review_cache.py)
    assert warm[0] == 0 and "3 of 3 stacks read the same inputs" not in warm[2], warm
    change = ", ".join(_random_change(root, module, rng) for _ in range(rng.randint(1, 3)))
    fast, full = review(root), review(root, "--evaluate-all")
    assert (fast[0], fast[1]) == (full[0], full[1]), change
    if "lock" in change:
        assert "not judged: dependencies changed" in fast[1]
        return
    assert changed(fast[1]) == truth(root, tmp_path), (change, fast[2])


@pytest.mark.parametrize("after", [0.15, 0.5, 1.0])
def test_an_early_ctrl_c_is_one_line(after):
    """issue 28: Ctrl-C while the package is still being imported printed a traceback."""
    script = Path(sys.executable).parent / "cluster-tls"
    process = subprocess.Popen(
        [str(script), "preview", "--stack", "prod"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert process.returncode in (130, -signal.SIGINT, 0, 1), (process.returncode, err)
