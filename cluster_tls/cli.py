"""`cluster-tls`: evaluate a stack offline on Pulumi's mock runtime (no CLI, cluster or credentials needed)."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .manifests import render_files
from .mockrun import Evaluation, run_program
from .preview import preview_table
from .stackfile import Project, StackFileError, load_stack_config


class EvaluationError(Exception):
    """The stack's config or program failed; the message says what and where."""


def _default_program(project: Project) -> Callable[[], Any]:
    import cluster_tls.stacks.program

    own = project.root / "stacks" / "program.py"
    if own.is_file() and Path(cluster_tls.stacks.program.__file__).resolve() != own.resolve():
        print(
            f"warning: evaluating {project.root} with the program installed from "
            f"{Path(cluster_tls.stacks.program.__file__).resolve().parent.parent}; run with PYTHONPATH={project.root} "
            "to use that checkout's own code",
            file=sys.stderr,
        )
    return cluster_tls.stacks.program.main


def evaluate(stack: str, project: Project, program: Callable[[], Any] | None = None) -> Evaluation:
    config, secret_keys = load_stack_config(project, stack)
    try:
        return run_program(
            program or _default_program(project),
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
        )
    except ValidationError as error:
        raise EvaluationError(f"stack {stack!r}: invalid component arguments:\n{error}") from None
    except StackFileError:
        raise
    except Exception as error:  # the program's own error, e.g. StackConfigError or a refused combination
        raise EvaluationError(str(error) or type(error).__name__) from None


def write_files(files: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _read_tree(folder: Path) -> dict[str, str]:
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
    parser = argparse.ArgumentParser(
        prog="cluster-tls",
        description="Evaluate a cluster-tls stack offline on Pulumi's mock runtime: the same program "
        "`pulumi up` runs, with no Pulumi CLI, cluster or credentials. Secrets show only as [secret].",
        epilog="Exit status: 0 success (diff: no differences), 1 diff found differences, "
        "2 error (bad config, refused combination, unknown stack).",
    )
    parser.add_argument(
        "--project-dir", type=Path, default=None, help="folder with Pulumi.yaml (default: found upward)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="list what the stack would create, with counts")
    preview.add_argument("--stack", required=True, help="stack name, e.g. dev (reads stacks/Pulumi.<stack>.yaml)")
    render = commands.add_parser("render", help="write every Kubernetes object and Helm release as YAML")
    render.add_argument("--stack", required=True)
    render.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    diff = commands.add_parser("diff", help="show what differs between two stacks, or a stack and a rendered folder")
    diff.add_argument("--stack", required=True)
    target = diff.add_mutually_exclusive_group(required=True)
    target.add_argument("--against", help="another stack")
    target.add_argument("--against-dir", type=Path, help="a folder written earlier by `render` (another revision)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        project = Project.find(args.project_dir)
        if args.command == "preview":
            sys.stdout.write(preview_table(evaluate(args.stack, project), args.stack))
            return 0
        files = render_files(evaluate(args.stack, project))
        if args.command == "render":
            write_files(files, args.out)
            print(f"wrote {len(files)} files for stack {args.stack!r} to {args.out}")
            return 0
        if args.against:
            other, label = render_files(evaluate(args.against, project)), args.against
        else:
            other, label = _read_tree(args.against_dir), str(args.against_dir)
        text = unified_diff(other, files, label, args.stack)
        sys.stdout.write(text or f"no differences between {label} and {args.stack}\n")
        return 1 if text else 0
    except (StackFileError, EvaluationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
