"""A program written from the README passes `mypy --strict` and pyright (strict) with the README's set-up, against
the built wheel installed outside this repository, as a team adopting the package would check it (issue 20)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from cluster_tls.mockrun import run_program
from tests.support.wheel import build_wheel

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _readme_block(language: str, marker: str) -> str:
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```", README, flags=re.S | re.M)
    (block,) = [dedent(text, indent) for indent, text in blocks if marker in text]
    return block


def dedent(text: str, indent: str) -> str:
    return "".join(line.removeprefix(indent) for line in text.splitlines(keepends=True))


README_PROGRAM = _readme_block("python", "pulumi.export")
MYPY_CONFIG = _readme_block("ini", "[mypy]")
MISTAKES = [
    ("port=8080", 'port="8080"'),  # a str where the model takes an int
    ("issuer=ca.issuer", 'issuer="platform-ca"'),  # a name where an issuer reference (or an output) goes
    ("cert_manager.cluster_context()", "cert_manager.context()"),  # a method that does not exist
]


@pytest.fixture(scope="module")
def consumer(tmp_path_factory) -> Path:
    """A virtual environment with the wheel installed in its site-packages and this venv's locked dependencies
    on its path (a .pth line): what `pip install cluster-tls` gives a team, without a download."""
    wheel = build_wheel(tmp_path_factory.mktemp("dist"))
    root = tmp_path_factory.mktemp("consumer-venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (site / "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _project(tmp_path: Path, program: str) -> Path:
    (tmp_path / "__main__.py").write_text(program)
    (tmp_path / "mypy.ini").write_text(MYPY_CONFIG)
    return tmp_path / "__main__.py"


def _mypy(consumer: Path, program: Path) -> subprocess.CompletedProcess:
    folder = program.parent
    command = [sys.executable, "-m", "mypy", "--python-executable", str(consumer), "--cache-dir", "cache", "."]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, env=_clean_env())


def _pyright(consumer: Path, program: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        pytest.fail("pyright runs on the machine's node (its PyPI wheel bundles pyright, not node): node is needed")
    folder = program.parent
    (folder / "pyrightconfig.json").write_text('{"typeCheckingMode": "strict", "include": ["__main__.py"]}\n')
    command = [sys.executable, "-m", "pyright", "--pythonpath", str(consumer), "-p", str(folder)]
    env = {**_clean_env(), "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MYPY"))}


PROGRAMS = {
    "the README's program": README_PROGRAM,
    "examples/platform": (REPO / "examples" / "platform" / "__main__.py").read_text(),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_mypy_strict_passes_with_the_readme_configuration(consumer, tmp_path, name):
    result = _mypy(consumer, _project(tmp_path, PROGRAMS[name]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_pyright_strict_passes(consumer, tmp_path, name):
    result = _pyright(consumer, _project(tmp_path, PROGRAMS[name]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout


@pytest.mark.parametrize("before, after", MISTAKES, ids=[m[1] for m in MISTAKES])
def test_both_checkers_refuse_a_mistake_in_the_program(consumer, tmp_path, before, after):
    assert before in README_PROGRAM
    program = _project(tmp_path, README_PROGRAM.replace(before, after))
    mypy = _mypy(consumer, program)
    pyright = _pyright(consumer, program)
    assert mypy.returncode == 1 and "__main__.py:" in mypy.stdout, mypy.stdout + mypy.stderr
    assert pyright.returncode == 1 and "__main__.py:" in pyright.stdout, pyright.stdout + pyright.stderr


def test_the_readme_program_runs_and_its_gateway_is_issued_by_the_ca():
    evaluation = run_program(lambda: exec(compile(README_PROGRAM, "README.md", "exec"), {"__name__": "__main__"}))
    assert evaluation.named("shop-certificate").inputs["spec"]["issuerRef"]["name"] == "platform-ca"
    assert evaluation.stack_outputs()["shopUrls"] == ["https://shop.example.com/"]
