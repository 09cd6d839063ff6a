"""The CLI as a hostile user meets it: every bad input ends with exit 2 and one line naming the cause."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_tls import __version__
from cluster_tls.cli import main
from cluster_tls.render_folder import MARKER as RENDER_MARKER
from cluster_tls.stackfile import load_bounded

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("cluster-tls")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}


def _project(tmp_path: Path, stack_text: str | bytes) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    target = tmp_path / "stacks" / "Pulumi.bad.yaml"
    target.write_bytes(stack_text if isinstance(stack_text, bytes) else stack_text.encode())
    return tmp_path


def _own_program(folder: Path, module: str, source: str, config: str | None = "config: {}\n") -> list[str]:
    """A user's own program `module:build` in `folder` (project `mine`, stack file `dev`): its CLI arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    if config is not None:
        (folder / "Pulumi.dev.yaml").write_text(config)
    (folder / f"{module}.py").write_text(source)
    return ["--project-dir", str(folder), "--program", f"{module}:build"]


def _fails_cleanly(capsys, argv: list[str], expected: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") and expected in err, err
    return err


BAD_STACK_FILES = {
    "a list": ("- a\n- b\n", "must be a mapping with a 'config:' key"),
    "a scalar": ("just text\n", "must be a mapping with a 'config:' key"),
    "not UTF-8": (b"config:\n  cluster-tls:privateCa: {caCommonName: \xff\xfe}\n", "is not UTF-8 text"),
    "a non-string key": ("config:\n  1: x\n", "keys must be strings, got int at line 2"),
    "a boolean key": ("config:\n  yes: x\n", "keys must be strings, got bool at line 2"),
    "a recursive anchor": ("config:\n  cluster-tls:privateCa: &a {x: *a}\n", "a recursive anchor"),
    "absurd nesting": ("config: " + "[" * 200 + "]" * 200 + "\n", "nesting"),
    "an alias bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True))
        + "config: {cluster-tls:x: *g}\n",
        "alias bomb",
    ),
    # issue 19: a node count does not see one big string aliased many times (3.2 GB at 300 aliases of 1 MiB)
    "a large string aliased many times": (
        "big: &big " + "x" * 2**20 + "\nconfig:\n  cluster-tls:x: [" + ", ".join(["*big"] * 40) + "]\n",
        "MiB of text after expanding anchors",
    ),
    "a duplicate key": (
        "config:\n  cluster-tls:privateCa: {scope: cluster}\n  cluster-tls:privateCa: {scope: namespaced}\n",
        "duplicate key 'cluster-tls:privateCa' at line 3, column 3 (first at line 2, column 3)",
    ),
    "a duplicate nested key": (
        "config:\n  cluster-tls:privateCa:\n    scope: cluster\n    scope: namespaced\n",
        "duplicate key 'scope' at line 4",
    ),
    # issue 31: each ended in "Object of type ... is not JSON serializable" or Python's int advice, with no key
    "bytes": ("config:\n  cluster-tls:privateCa: {caCommonName: !!binary aGVsbG8=}\n", "a YAML binary value at line 2"),
    "a set": ("config:\n  cluster-tls:privateCa: !!set {a, b}\n", "a YAML set value at line 2"),
    "an integer of 5000 digits": (
        "config:\n  cluster-tls:privateCa: {size: " + "9" * 5000 + "}\n",
        "an integer of 5000 digits at line 2, column 33: quote it if it is text",
    ),
}


def test_a_date_is_the_text_written_as_the_pulumi_cli_reads_it(tmp_path, capsys):
    """gopkg.in/yaml.v3, which the CLI reads stack files with, keeps a timestamp decoded into interface{} as the
    string written (decode.go); the field's own check then names it, with the stack and key."""
    dev = (REPO / "stacks" / "Pulumi.dev.yaml").read_text().replace("duration: 87600h", "duration: 2024-01-01")
    project = _project(tmp_path, dev)
    err = _fails_cleanly(
        capsys,
        ["--project-dir", str(project), "preview", "--stack", "bad"],
        "cluster-tls:privateCa.duration: must be a Go duration such as '2160h' or '1h30m'",
    )
    assert "(got '2024-01-01')" in err


def test_yaml_merge_keys_are_merged_as_the_pulumi_cli_merges_them(tmp_path, capsys):
    dev = (REPO / "stacks" / "Pulumi.dev.yaml").read_text()
    merged = dev.replace(
        "    scope: cluster\n    caCommonName: cluster-tls dev CA\n",
        "    <<: &ca {scope: cluster, caCommonName: cluster-tls dev CA}\n",
    )
    assert merged != dev
    outputs = []
    for name, text in (("merged", merged), ("plain", dev)):
        (tmp_path / name).mkdir()
        assert (
            main(["--project-dir", str(_project(tmp_path / name, text)), "render", "--stack", "bad", "--out", "-"]) == 0
        )
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "cluster-tls dev CA" in outputs[0]


@pytest.mark.parametrize("text,expected", BAD_STACK_FILES.values(), ids=BAD_STACK_FILES.keys())
def test_a_broken_stack_file_is_one_line_naming_the_cause(tmp_path, capsys, text, expected):
    project = _project(tmp_path, text)
    _fails_cleanly(capsys, ["--project-dir", str(project), "preview", "--stack", "bad"], expected)


def test_render_onto_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file.yaml"
    target.write_text("x")
    _fails_cleanly(capsys, ["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(target)], "is a file")
    assert target.read_text() == "x"


def test_a_project_dir_that_does_not_exist_or_has_no_pulumi_yaml_is_refused(tmp_path, capsys):
    _fails_cleanly(capsys, ["--project-dir", str(tmp_path / "nope"), "preview", "--stack", "dev"], "does not exist")
    (tmp_path / "a-file").write_text("x")
    _fails_cleanly(capsys, ["--project-dir", str(tmp_path / "a-file"), "preview", "--stack", "dev"], "is a file, not a")
    # Not the installed repository's stacks, silently: the folder itself must hold Pulumi.yaml.
    _fails_cleanly(capsys, ["--project-dir", str(tmp_path), "preview", "--stack", "dev"], "no Pulumi.yaml in")


def test_another_projects_pulumi_yaml_is_refused(tmp_path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: webshop\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    _fails_cleanly(capsys, ["--project-dir", str(tmp_path), "preview", "--stack", "dev"], "is project 'webshop'")


def test_diff_against_a_missing_folder_is_refused(tmp_path, capsys):
    argv = ["--project-dir", str(REPO), "diff", "--stack", "dev", "--against-dir", str(tmp_path / "gone")]
    _fails_cleanly(capsys, argv, "is not a folder")


def test_version_and_global_options_after_the_subcommand(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"cluster-tls {__version__}"
    assert main(["preview", "--stack", "dev", "--project-dir", str(REPO)]) == 0


def test_render_replaces_its_own_earlier_render_exactly_and_refuses_other_folders(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--project-dir", str(REPO), "render", "--stack", "prod", "--out", str(out)]) == 0
    prod_only = out / "manifests/_cluster/clusterissuer.cert-manager.io.my-ca-issuer.yaml"
    assert prod_only.is_file() and (out / RENDER_MARKER).is_file()
    assert main(["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(out)]) == 0
    assert not prod_only.exists()
    fresh = tmp_path / "fresh"
    assert main(["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(fresh)]) == 0
    listing = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert listing == sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*"))

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    capsys.readouterr()  # what the renders above printed (prod's waived placeholder e-mail)
    _fails_cleanly(
        capsys,
        ["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(mine)],
        "is not empty and was not written by `cluster-tls render`",
    )
    assert (mine / "notes.txt").read_text() == "keep me"


def test_renders_of_two_separate_processes_are_byte_identical(tmp_path):
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"out-{seed}"
        env = {**ENV, "PYTHONHASHSEED": seed}
        for stack in ("dev", "staging", "prod"):
            result = subprocess.run(
                [SCRIPT, "render", "--stack", stack, "--out", str(out / stack)],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stderr
        trees.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] and trees[0] == trees[1]


def test_a_closed_pipe_ends_quietly():
    # `cluster-tls diff ... | head` where head has already gone: the read end is closed before anything is written.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [SCRIPT, "diff", "--stack", "prod", "--against", "dev"],
            cwd=REPO,
            env=ENV,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 1  # diff's "differences found", not a crash


def test_a_stack_name_that_is_a_path_is_refused(tmp_path, capsys):
    # issue 19: `--stack x/../../../outside` read a stack file outside stacks/.
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p", "config: {}\n")
    (tmp_path / "Pulumi.outside.yaml").write_text("config: {}\n")
    for name in ("x/../../../outside", "../outside", "..", "a b"):
        _fails_cleanly(capsys, ["preview", "--project-dir", str(project), "--stack", name], "stack name")


@pytest.mark.parametrize(
    "program",
    [
        "import pulumi_kubernetes as k8s\n"
        "def build():\n    k8s.core.v1.ConfigMap('cm', metadata={'name': '../../x', 'namespace': 'apps'})\n",
        "from cluster_tls.components import SelfSignedCAChain\n"
        "def build():\n    SelfSignedCAChain('../../../../evil-component', {'scope': 'cluster'})\n",
    ],
    ids=["an object name", "a component name"],
)
def test_render_writes_nothing_outside_its_folder_whatever_the_names(tmp_path, capsys, program):
    # issue 19: a ConfigMap named '../../x' escaped manifests/, a component named '../../../../evil-component' wrote
    # three levels above --out.
    project = tmp_path / "deep" / "er" / "project"
    own = _own_program(project, "hostile_names", program)
    _fails_cleanly(capsys, ["render", *own, "--stack", "dev", "--out", str(project / "out")], "would leave its folder")
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p for p in written if "__pycache__" not in p) == [
        "deep/er/project/Pulumi.dev.yaml",
        "deep/er/project/Pulumi.yaml",
        "deep/er/project/hostile_names.py",
    ]


@pytest.mark.parametrize(
    ("waiver", "expected"),
    [
        ("{rule: NGNIX, reason: Traefik serves class nginx here}", "no rule 'NGNIX'; did you mean 'NGINX'?"),
        ("{rule: NGINX, reason: '            '}", "reason: say why NGINX does not apply here"),
        ("NGINX", "waive[0]: give {rule: <id>, reason: <why>}"),
    ],
    ids=["a misspelt rule", "a blank reason", "not a mapping"],
)
def test_a_waiver_names_a_real_rule_and_gives_a_reason(tmp_path, capsys, waiver, expected):
    # issues 18 and 20: a waiver of a rule that does not exist, or with a blank reason, was accepted.
    config = f"config:\n  mine:preflight:\n    waive:\n      - {waiver}\n"
    own = _own_program(tmp_path, "mine", "def build():\n    pass\n", config)
    _fails_cleanly(capsys, ["check", *own, "--stack", "dev"], expected)


def test_all_stacks_without_stack_files_is_an_error(tmp_path, capsys):
    own = _own_program(tmp_path, "mine", "def build():\n    pass\n", config=None)
    for command in (["check"], ["diff", "--against-ref", "HEAD"]):
        _fails_cleanly(capsys, [*command, *own, "--all-stacks"], "--all-stacks: no stack files")


def test_a_render_that_cannot_be_written_is_a_usage_error(tmp_path, capsys):
    # issue 19: an --out that cannot be written ended as "a bug of ours"; a folder below a file cannot be made by
    # anyone, root included.
    (tmp_path / "file").write_text("x")
    _fails_cleanly(capsys, ["render", "--stack", "dev", "--out", str(tmp_path / "file" / "r")], "cannot write there")


def test_invalid_component_arguments_are_one_line_each_not_a_pydantic_dump(tmp_path, capsys):
    # issue 18: a program's own bad argument printed "1 validation error for HubbleTLSArgs" over three lines.
    source = (
        "from cluster_tls.components import HubbleTLS\n"
        "def build():\n    HubbleTLS('h', {'ciliumVersion': '1.18.12', 'certValidityDays': 'many'})\n"
    )
    argv = ["preview", *_own_program(tmp_path, "mine_hubble", source), "--stack", "dev"]
    _fails_cleanly(capsys, argv, "  - HubbleTLSArgs.certValidityDays: Input should be a valid integer (got 'many')")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "validation error for" not in err and "errors.pydantic.dev" not in err and len(err.splitlines()) == 2


def test_a_huge_value_and_escape_sequences_are_echoed_bounded_and_escaped(tmp_path, capsys):
    # issue 19: a 2,000,000-character value took 21 s to refuse and was echoed whole; ESC sequences reached the
    # terminal raw.
    duration = "\\e[2J" + "9" * 2_000_000
    key = "\\e[31mred\\a" + "k" * 300
    project = _project(
        tmp_path, f'config:\n  cluster-tls:privateCa:\n    scope: cluster\n    duration: "{duration}"\n    "{key}": 1\n'
    )
    assert main(["--project-dir", str(project), "preview", "--stack", "bad"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert all(len(line) < 400 for line in err.splitlines()), max(map(len, err.splitlines()))
    assert "cluster-tls:privateCa.duration: is 2000004 characters long: no Go duration is" in err
    assert "(1999924 more characters)" in err and "cluster-tls:privateCa.\\x1b[31mred\\x07kkk" in err


def test_diff_against_a_folder_holding_an_alias_bomb_is_refused_in_one_line(tmp_path, capsys):
    # issue 19: 452 bytes gave 110 MB of output; the folder's files are read with the stack reader's bounds.
    bomb = (
        "a: &a ["
        + ", ".join(["x" * 8] * 10)
        + "]\n"
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True))
    )
    folder = tmp_path / "old"
    (folder / "manifests" / "istio-system").mkdir(parents=True)
    (folder / "manifests/istio-system/gateway.networking.istio.io.dev-web.yaml").write_text(bomb)
    _fails_cleanly(capsys, ["diff", "--stack", "dev", "--against-dir", str(folder)], "alias bomb")


def test_a_stack_file_is_parsed_once_per_command(monkeypatch, capsys):
    # issue 20: a preview parsed the stack file three times (config, settings, secure paths).
    from cluster_tls import stackfile

    parsed: list[int] = []
    real = stackfile.load_bounded
    stackfile._parsed.cache_clear()
    monkeypatch.setattr(stackfile, "load_bounded", lambda text, **kw: parsed.append(len(text)) or real(text, **kw))
    assert main(["preview", "--stack", "prod"]) == 0
    capsys.readouterr()
    assert len(parsed) == 2  # Pulumi.yaml and stacks/Pulumi.prod.yaml, once each


def test_a_large_stack_file_shared_with_another_tools_config_is_read():
    """Pulumi stack files hold every provider's config: 100,000 keys of another tool's (2 MiB) are no alias bomb
    (the bound of 100,000 values refused them, benchmarks/large_stack_file.py)."""
    text = "config:\n  other-tool:settings:\n" + "".join(f"    key-{i:06d}: value\n" for i in range(100_000))
    assert len(load_bounded(text)["config"]["other-tool:settings"]) == 100_000


def test_the_project_is_found_from_a_folder_below_it_and_only_there_without_search_up(tmp_path):
    from cluster_tls.stackfile import Project, StackFileError

    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    assert Project.find(below).root == tmp_path and Project.find(below).name == "mine"
    assert Project.find(tmp_path, search_up=False).name == "mine"
    with pytest.raises(StackFileError):
        Project.find(below, search_up=False)


def test_the_expanded_size_bound_is_32_mib_to_the_byte_of_the_margin():
    from cluster_tls.stackfile import StackFileError

    bound = 32 * 2**20  # the documented bound, not the constant: a test that read it could not notice it changed

    def document(total: int) -> str:  # one 1 MiB string seen 31 times, and text up to `total` characters in all
        keys = len("big") + len("more") + len("all")
        extra = total - 31 * 2**20 - keys
        return "big: &big " + "x" * 2**20 + "\nmore: " + "y" * extra + "\nall: [" + ", ".join(["*big"] * 30) + "]\n"

    assert len(load_bounded(document(bound))["all"]) == 30
    with pytest.raises(StackFileError, match="32 MiB of text"):
        load_bounded(document(bound + 16 * 1024))


def test_nesting_is_counted_one_level_a_mapping():
    from cluster_tls.stackfile import StackFileError

    def nested(levels: int) -> str:
        return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}leaf\n"

    assert load_bounded(nested(63)) is not None  # the documented bound: 64 levels
    with pytest.raises(StackFileError, match="nesting deeper than 64"):
        load_bounded(nested(65))


def test_a_project_cannot_be_changed_once_found():
    import dataclasses

    from cluster_tls.stackfile import Project

    project = Project.find(Path(__file__).resolve().parent.parent)
    with pytest.raises(dataclasses.FrozenInstanceError):
        project.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("setting", ["abc", "2.5", "four"])
def test_a_worker_count_that_is_not_a_number_is_a_usage_error_naming_it(capsys, monkeypatch, setting):
    # issue 31: it was exit 3, "a bug of ours"
    monkeypatch.setenv("CLUSTER_TLS_WORKERS", setting)
    _fails_cleanly(capsys, ["--project-dir", str(REPO), "check", "--all-stacks"], "CLUSTER_TLS_WORKERS must be")


def test_a_full_disk_is_the_machines_error_in_one_line(tmp_path, capsys, monkeypatch):
    # issue 31: ENOSPC while writing the render was exit 3, "a bug of ours"; the machine's errors are exit 2
    import errno

    import cluster_tls.render_folder as render_folder

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(render_folder.os, "replace", full)
    monkeypatch.setattr(render_folder.os, "rename", full, raising=False)
    _fails_cleanly(
        capsys,
        ["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(tmp_path / "out")],
        "No space left on device",
    )


def test_one_oddly_named_stack_file_does_not_stop_all_stacks(tmp_path, capsys):
    """A file named as no stack Pulumi can have is named and left out; the other stacks are still checked, and the
    run exits 2 for it (issue 31)."""
    project = _project(tmp_path, (REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    shutil.copy(REPO / "stacks" / "Pulumi.dev.yaml", project / "stacks" / "Pulumi.bad name.yaml")
    assert main(["--project-dir", str(project), "check", "--all-stacks"]) == 2
    out, err = capsys.readouterr()
    assert "stack bad: no findings" in out
    assert err == (
        "error: stack name 'bad name': use letters, digits, '-', '_' and '.' (Pulumi's stack names); "
        "left out of --all-stacks\n"
    )
