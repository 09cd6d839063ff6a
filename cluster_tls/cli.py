"""`cluster-tls`: evaluate a stack offline on Pulumi's mock runtime (no CLI, cluster or credentials needed).

Exit status: 0 success (diff: no differences), 1 diff found differences, 2 error. An error is one line (or
one list of config problems), never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import __version__
from .manifests import RenderError, render_files
from .mockrun import Evaluation, run_program
from .preview import preview_table
from .stackfile import Project, StackFileError, load_stack_config

PROJECT_NAME = "cluster-tls"
# Written into every folder `render` fills, so that a later render may replace it and nothing else.
RENDER_MARKER = ".cluster-tls-render"


class EvaluationError(Exception):
    """The stack's config or program failed; the message says what and where."""


class UsageError(Exception):
    """The command line asks for something that cannot be done (a missing folder, an output onto a file)."""


def _default_program(project: Project) -> Callable[[], Any]:
    import cluster_tls.stacks.program as program

    if project.name != PROJECT_NAME:
        raise UsageError(
            f"{project.root / 'Pulumi.yaml'} is project {project.name!r}, not {PROJECT_NAME!r}: "
            "this command evaluates cluster-tls stacks"
        )
    own = project.root / "stacks" / "program.py"
    if own.is_file() and Path(program.__file__).resolve() != own.resolve():
        print(
            f"warning: evaluating {project.root} with the program installed from "
            f"{Path(program.__file__).resolve().parent.parent}; run with PYTHONPATH={project.root} "
            "to use that checkout's own code",
            file=sys.stderr,
        )
    return program.main


def evaluate(stack: str, project: Project, program: Callable[[], Any] | None = None) -> Evaluation:
    config, secret_keys = load_stack_config(project, stack)
    try:
        return run_program(
            program or _default_program(project),
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            cwd=project.root,
            offline=True,
        )
    except ValidationError as error:
        raise EvaluationError(f"stack {stack!r}: invalid component arguments:\n{error}") from None
    except (StackFileError, UsageError):
        raise
    except Exception as error:  # the program's own error, e.g. StackConfigError or a refused combination
        raise EvaluationError(str(error) or type(error).__name__) from None


def write_render(files: dict[str, str], out: Path) -> None:
    """Write `files` into `out`, replacing exactly what an earlier render wrote there; refuse anything else."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / RENDER_MARKER).is_file():
            raise UsageError(
                f"--out {out} is not empty and was not written by `cluster-tls render`; choose an empty or new folder"
            )
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / RENDER_MARKER).write_text("written by cluster-tls render; the next render replaces this folder\n")
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise UsageError(f"--against-dir {folder} is not a folder")
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.yaml"))}


def unified_diff(before: dict[str, str], after: dict[str, str], before_label: str, after_label: str) -> str:
    chunks = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, ""), after.get(path, "")
        if old != new:
            chunks.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"{before_label}/{path}" if path in before else "/dev/null",
                    tofile=f"{after_label}/{path}" if path in after else "/dev/null",
                )
            )
    return "".join(chunks)


def _parser() -> argparse.ArgumentParser:
    # Global options are accepted before and after the subcommand (`cluster-tls render --project-dir X ...`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="folder with Pulumi.yaml (default: the current folder or the nearest one above it)",
    )
    parser = argparse.ArgumentParser(
        prog="cluster-tls",
        parents=[common],
        description="Evaluate a cluster-tls stack offline on Pulumi's mock runtime: the same program "
        "`pulumi up` runs, with no Pulumi CLI, cluster or credentials. Secrets show only as [secret].",
        epilog="Exit status: 0 success (diff: no differences), 1 diff found differences, "
        "2 error (bad config, refused combination, unknown stack).",
    )
    parser.add_argument("--version", action="version", version=f"cluster-tls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", parents=[common], help="list what the stack would create, with counts")
    preview.add_argument("--stack", required=True, help="stack name, e.g. dev (reads stacks/Pulumi.<stack>.yaml)")
    render = commands.add_parser("render", parents=[common], help="write every Kubernetes object and Helm release")
    render.add_argument("--stack", required=True)
    render.add_argument(
        "--out", type=Path, required=True, help="output folder: new, empty, or written by an earlier render"
    )
    diff = commands.add_parser(
        "diff", parents=[common], help="show what differs between two stacks, or a stack and a rendered folder"
    )
    diff.add_argument("--stack", required=True)
    target = diff.add_mutually_exclusive_group(required=True)
    target.add_argument("--against", help="another stack")
    target.add_argument("--against-dir", type=Path, help="a folder written earlier by `render` (another revision)")
    return parser


def _run(args: argparse.Namespace) -> int:
    project_dir = getattr(args, "project_dir", None)
    project = Project.find(project_dir, search_up=project_dir is None)
    if args.command == "preview":
        sys.stdout.write(preview_table(evaluate(args.stack, project), args.stack))
        return 0
    if args.command == "render":
        if args.out.exists() and not args.out.is_dir():
            raise UsageError(f"--out {args.out} is a file, not a folder")
        files = render_files(evaluate(args.stack, project))
        write_render(files, args.out)
        print(f"wrote {len(files)} files for stack {args.stack!r} to {args.out}")
        return 0
    if args.against_dir is not None:
        other, label = _read_tree(args.against_dir), str(args.against_dir)
    else:
        other, label = render_files(evaluate(args.against, project)), args.against
    text = unified_diff(other, render_files(evaluate(args.stack, project)), label, args.stack)
    sys.stdout.write(text or f"no differences between {label} and {args.stack}\n")
    return 1 if text else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `cluster-tls diff ... | head`: the reader has gone; end quietly
        # (docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1 if args.command == "diff" else 0
    except (StackFileError, EvaluationError, UsageError, RenderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug of ours: still one line; CLUSTER_TLS_DEBUG=1 shows the traceback
        if os.environ.get("CLUSTER_TLS_DEBUG"):
            raise
        print(f"error: {type(error).__name__}: {error} (set CLUSTER_TLS_DEBUG=1 for details)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
