"""Reviewing many stacks at once (issue 21): stacks whose inputs are the same at both sides are not evaluated,
and a change to any input is never missed; the others are evaluated in workers forked after one import, with the
results of the sequential review, byte for byte; one stack's failure is that stack's alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cluster_tls import pool, reads
from cluster_tls.cli import evaluate, load_program, main
from cluster_tls.manifests import render_files
from cluster_tls.revision import own_code_command
from cluster_tls.stackfile import Project
from cluster_tls.unchanged import Review

from .support.repository import REPO, commit_all, committed_copy, git, platform_repository

EXAMPLE = REPO / "examples" / "platform"


@pytest.fixture
def platform(tmp_path) -> Path:
    """Another team's repository: their program on the installed package, three stacks, a data file it reads."""

    def reads_a_data_file(root: Path) -> None:
        # The program also reads a file of its repository: a change to it must reach every stack's review.
        program = (root / "__main__.py").read_text()
        program = program.replace(
            "import pulumi\n",
            "import pathlib\n\nimport pulumi\n\nOWNER = (pathlib.Path(__file__).parent / 'owner.txt').read_text()\n",
        )
        (root / "__main__.py").write_text(
            program.replace('ca_common_name=f"{domain} CA"', 'ca_common_name=f"{domain} CA {OWNER}"')
        )
        (root / "owner.txt").write_text("platform team\n")
        (root / ".gitignore").write_text("*.local\n")

    return platform_repository(tmp_path / "platform", reads_a_data_file)


def unchanged(root: Path, ref: str = "HEAD") -> set[str]:
    """The stacks whose base side a review skips: each evaluated here, recording what it reads, as `diff` does."""
    project = Project.find(root)
    review = Review(project, git(root, "rev-parse", ref).strip())
    program = load_program(str(root), project)
    same = set()
    for stack in project.stacks():
        reads.start()
        try:
            render_files(evaluate(stack, project, program))
            recorded = reads.snapshot([root], stack_file=project.stack_file(stack))
        except Exception:  # reported as that stack's failure by the review, never as "no differences"
            continue
        finally:
            reads.stop()
        if review.why_evaluated(recorded) is None:
            same.add(stack)
    return same


ALL = {"dev", "prod", "staging"}


def test_with_nothing_changed_no_stack_is_evaluated(platform):
    assert "OWNER" in (platform / "__main__.py").read_text()
    assert unchanged(platform) == ALL


@pytest.mark.parametrize(
    "change",
    [
        "the program",
        "a file the program reads",
        "the lock file",
        "Pulumi.yaml",
        "a new module, not committed, named like one the program imports",
        "a deleted file",
        "a file's mode is its blob: a symlink",
    ],
)
def test_a_change_to_what_every_stack_reads_reviews_every_stack(platform, change):
    if change == "the program":
        (platform / "__main__.py").write_text((platform / "__main__.py").read_text() + "\n# reviewed\n")
    elif change == "a file the program reads":
        (platform / "owner.txt").write_text("another team\n")
    elif change == "the lock file":
        (platform / "requirements.lock").write_text("cluster-tls==0.2.1\n")
    elif change == "Pulumi.yaml":
        (platform / "Pulumi.yaml").write_text((platform / "Pulumi.yaml").read_text() + "# x\n")
    elif change == "a new module, not committed, named like one the program imports":
        (platform / "yaml.py").write_text("VALUE = 1\n")  # the base looks in its project folder first
    elif change == "a deleted file":
        (platform / "requirements.txt").unlink()
    else:
        (platform / "owner.txt").unlink()
        (platform / "owner.txt").symlink_to("requirements.lock")
    assert unchanged(platform) == set()


def test_a_changed_stack_file_reviews_that_stack_alone(platform):
    stack = platform / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + "# a comment is a change too\n")
    (platform / "Pulumi.qa.yaml").write_text((platform / "Pulumi.dev.yaml").read_text())  # new: no base
    assert unchanged(platform) == {"dev", "staging"}


def test_ignored_files_are_in_neither_sides_review(platform):
    (platform / "notes.local").write_text("not in git, not in the base\n")
    assert unchanged(platform) == ALL


def test_a_file_no_evaluation_reads_changes_nothing(platform):
    (platform / "helpers.py").write_text("VALUE = 1\n")
    (platform / "README.md").write_text("# docs\n")
    assert unchanged(platform) == ALL


def test_code_run_from_outside_the_repository_is_compared_only_with_a_base_that_runs_it_too(project_copy):
    # This process runs the package from this checkout, not from the copy: the copy's base runs its own code,
    # so nothing can be skipped (cluster_tls/unchanged.py).
    assert unchanged(project_copy) == set()


@pytest.fixture
def project_copy(tmp_path) -> Path:
    return committed_copy(REPO, tmp_path / "repo")


def run_own(root: Path, *args: str, workers: str = "2") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, pool.WORKERS_VARIABLE: workers}
    return subprocess.run(
        [*own_code_command(root), "--project-dir", str(root), *args], capture_output=True, text=True, env=env
    )


def test_a_review_with_skipping_and_workers_prints_what_the_sequential_review_prints(project_copy, capsys):
    stack = project_copy / "stacks" / "Pulumi.staging.yaml"
    stack.write_text(stack.read_text().replace("hosts: [shop.example.com]", "hosts: [shop.example.com, c.example.com]"))
    (project_copy / "stacks" / "Pulumi.qa.yaml").write_text((project_copy / "stacks" / "Pulumi.dev.yaml").read_text())
    args = ["diff", "--all-stacks", "--against-ref", "HEAD", "--format", "markdown"]
    fast = run_own(project_copy, *args)
    assert fast.returncode == 1, fast.stderr
    assert "2 of 4 stacks read the same inputs at HEAD as here" in fast.stderr
    # In this process the code comes from outside the copy: every stack is evaluated, one after another.
    os.environ[pool.WORKERS_VARIABLE] = "1"
    try:
        assert main(["--project-dir", str(project_copy), *args]) == 1
    finally:
        del os.environ[pool.WORKERS_VARIABLE]
    sequential = capsys.readouterr()
    assert "not evaluated" not in sequential.err
    assert fast.stdout == sequential.out
    assert "| `staging` | `HEAD` | 0 | 0 | " in fast.stdout and "| `qa` | `HEAD` | " in fast.stdout


def test_a_change_to_the_package_reaches_every_stack(project_copy):
    program = project_copy / "components" / "istio_gateway.py"
    program.write_text(
        program.read_text().replace('"name": "https", "protocol": "HTTPS"', '"name": "tls", "protocol": "HTTPS"')
    )
    result = run_own(project_copy, "diff", "--all-stacks", "--against-ref", "HEAD")
    assert result.returncode == 1, result.stderr
    assert "not evaluated" not in result.stderr
    for stack in ("dev", "staging", "prod"):
        assert f"stack {stack} against HEAD:" in result.stdout
    assert 'spec.servers[0].port.name: "https" -> "tls"' in result.stdout


def test_one_broken_stack_is_reported_and_the_others_reviewed(project_copy, capsys, tmp_path):
    broken = project_copy / "stacks" / "Pulumi.broken.yaml"
    broken.write_text("config:\n  cluster-tls:privateCa:\n    duration: 10y\n")
    result = run_own(project_copy, "diff", "--all-stacks", "--against-ref", "HEAD", "--format", "markdown")
    assert result.returncode == 2
    assert "error: stack 'broken'" in result.stderr and "10y" in result.stderr
    assert "| `broken` | `HEAD` | not reviewed | | |" in result.stdout
    assert "| `dev` | `HEAD` | 0 | 0 | 0 |" in result.stdout
    for command in (["check", "--all-stacks"], ["render", "--all-stacks", "--out", str(tmp_path / "out")]):
        assert main(["--project-dir", str(project_copy), *command]) == 2
        captured = capsys.readouterr()
        assert captured.err.count("error: stack 'broken'") == 1, captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dev", "prod", "staging"]


def test_render_all_stacks_writes_what_each_render_writes(tmp_path, capsys):
    assert main(["render", "--all-stacks", "--out", str(tmp_path / "all")]) == 0
    for stack in ("dev", "staging", "prod"):
        assert main(["render", "--stack", stack, "--out", str(tmp_path / stack)]) == 0
        one = {p.relative_to(tmp_path / stack): p.read_bytes() for p in (tmp_path / stack).rglob("*") if p.is_file()}
        many = tmp_path / "all" / stack
        assert one == {p.relative_to(many): p.read_bytes() for p in many.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "command", [["check", "--all-stacks", "--format", "sarif"], ["check", "--stack", "prod", "--stack", "dev"]]
)
def test_check_in_workers_gives_the_sequential_result(command, capsys, monkeypatch):
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "1")
    sequential_code = main(command)
    sequential = capsys.readouterr().out
    assert sequential_code in (0, 1) and sequential  # a result, not a refusal both ways
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "3")
    assert main(command) == sequential_code
    assert capsys.readouterr().out == sequential


def test_outcomes_keep_their_order_and_a_killed_worker_fails_only_what_it_left(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "2")
    parent = os.getpid()

    def job(item: str) -> str:
        if item == "dies" and os.getpid() != parent:
            os._exit(9)
        if item == "raises":
            raise ValueError("no such thing")
        return item.upper()

    outcomes = pool.run_all(["a", "b", "raises", "c"], job, str)
    assert [(o.item, o.value, o.error) for o in outcomes] == [
        ("a", "A", None),
        ("b", "B", None),
        ("raises", None, "no such thing"),
        ("c", "C", None),
    ]
    crashed = pool.run_all(["a", "dies"], job, str)
    assert crashed[0].value == "A" and "the worker evaluating it ended (exit 9), twice" in crashed[1].error


def test_progress_shows_on_a_terminal_only(tmp_path):
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        progress = pool.Progress(3, "stacks", terminal)
        for _ in range(3):
            progress.step()
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1000)
        except OSError:  # the terminal's other end is closed and everything read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert shown.decode().replace("\r\n", "\n").endswith("\rcluster-tls: stacks 3/3\n")
    with (tmp_path / "log").open("w") as file:
        progress = pool.Progress(3, "stacks", file)
        progress.step()
    assert (tmp_path / "log").read_text() == ""


def test_a_bad_worker_count_is_one_line(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "many")
    with pytest.raises(ValueError, match="CLUSTER_TLS_WORKERS must be a whole number of workers \\(got 'many'\\)"):
        pool.worker_count(3)


def test_another_teams_repository_reviews_a_pull_request(platform, capsys):
    # Their program on the installed package (no cluster_tls of their own): `--program` reaches the base too.
    review = [
        "--project-dir",
        str(platform),
        "diff",
        "--program",
        str(platform),
        "--all-stacks",
        "--against-ref",
        "HEAD",
    ]
    assert main(review) == 0
    assert "3 of 3 stacks read the same inputs at HEAD" in capsys.readouterr().err
    (platform / "owner.txt").write_text("another team\n")
    assert main(review) == 1
    captured = capsys.readouterr()
    assert "not evaluated" not in captured.err
    for stack in ALL:
        assert f"stack {stack} against HEAD: 1 changed" in captured.out, captured.out
    assert "CA platform team" in captured.out and "CA another team" in captured.out


@pytest.mark.parametrize(
    "change",
    ["prod linked to staging's file", "a link retargeted", "an executable bit", "a link replaced by its target"],
)
def test_a_stack_file_changed_by_its_link_or_mode_is_reviewed(platform, change):
    # issue 28: prod replaced by a link to staging's file was "no differences" (the link was resolved and staging's
    # unchanged blob compared at both sides)
    prod, staging, dev = (platform / f"Pulumi.{name}.yaml" for name in ("prod", "staging", "dev"))
    if change in ("a link retargeted", "a link replaced by its target"):
        prod.unlink()
        prod.symlink_to(staging.name)
        commit_all(platform)
    if change == "prod linked to staging's file":
        prod.unlink()
        prod.symlink_to(staging.name)
    elif change == "a link retargeted":
        prod.unlink()
        prod.symlink_to(dev.name)
    elif change == "an executable bit":
        prod.chmod(0o755)
    else:
        prod.unlink()
        prod.write_bytes(staging.name.encode())  # the link's blob, as a file: same blob, another mode
    assert "prod" not in unchanged(platform)
    assert {"dev", "staging"} <= unchanged(platform)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


@pytest.mark.parametrize("signal_number", [15, 2])
def test_sigterm_or_ctrl_c_ends_the_workers_too(tmp_path, signal_number):
    """issue 28: SIGTERM to `cluster-tls diff --all-stacks` left its workers evaluating. The workers end with it."""
    import sys
    import time

    script = (  # the first item runs in this process, the others in workers, where they take a minute
        "import os, time\nfrom cluster_tls import pool\nparent = os.getpid()\n"
        "pool.run_all(['a', 'b', 'c', 'd'], lambda item: os.getpid() != parent and time.sleep(60), str)\n"
    )
    env = {**os.environ, pool.WORKERS_VARIABLE: "2"}
    process = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while len(_children(process.pid)) < 2:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        workers = _children(process.pid)
        process.send_signal(signal_number)
        assert process.wait(timeout=20) == 128 + signal_number
        time.sleep(1)
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
        assert alive == [], alive
    finally:
        process.kill()


def _state(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
