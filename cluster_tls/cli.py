"""`cluster-tls`: evaluate a stack offline on Pulumi's mock runtime (no CLI, cluster or credentials needed).

Exit status: 0 clean; 1 findings (preflight errors) or differences; 2 a usage or input error (bad config, a refused
combination, an unknown stack); 3 an internal error, a bug of ours. An error is one line (or one list of config
problems), never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import functools
import importlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from . import __version__, reads, review_cache
from .components import secret_guard
from .components.model import ArgsError
from .diffing import DiffInputError, format_json, format_markdown, format_text, structural_diff
from .manifests import SECRET_SALT, RenderError, render_files
from .mockrun import Evaluation, folder_program, run_stack
from .pool import Outcome, WorkerLost, WorkersSettingError, run_all
from .preflight import Finding, StackView, Waiver, run_rules
from .preflight import rules as _rules  # noqa: F401 - registers the rules
from .preflight.engine import RULES
from .preflight.engine import errors as preflight_errors
from .preflight.engine import format_json as preflight_json
from .preflight.engine import format_sarif as preflight_sarif
from .preflight.engine import format_text as preflight_text
from .preflight.view import from_evaluation
from .preview import preview_json, preview_table
from .render_folder import FolderError, replace_folder
from .revision import SALT_VARIABLE, RevisionError, RevisionRender, resolve_commit
from .stackfile import (
    MAX_EXPANDED_CHARS,
    Project,
    StackFileError,
    config_key_lines,
    environment_imports,
    load_bounded,
    read_yaml,
    stack_entries,
)
from .unchanged import InputsError, Review

PROJECT_NAME = "cluster-tls"
CLEAN, FINDINGS, INPUT_ERROR, INTERNAL_ERROR = 0, 1, 2, 3  # exit statuses (issue 20)


_MACHINE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


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


def load_program(spec: str, project: Project) -> Callable[[], Any]:
    """`folder` (with Pulumi.yaml: its main file, run as the Pulumi CLI runs Python programs) or `module:function`."""
    folder = Path(spec)
    if folder.is_dir():
        if not (folder / "Pulumi.yaml").is_file():
            raise UsageError(f"--program {spec}: a folder needs a Pulumi.yaml")
        return folder_program(folder)
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise UsageError(f"--program {spec!r}: give a folder with Pulumi.yaml, or module:function")
    sys.path.insert(0, str(project.root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"--program {spec!r}: cannot import {module_name!r}: {error}") from None
    target = getattr(module, function, None)
    if not callable(target):
        raise UsageError(f"--program {spec!r}: {module_name} has no function {function!r}")
    return target


# Set by `entry_point` only: a `cluster-tls` process evaluates and exits, so what an evaluation allocated is left
# to the exit instead of one last cyclic collection (mockrun.run_program(leave_garbage=True)). Programs and tests
# that call `main()` in-process keep the normal collection.
_ONE_SHOT_PROCESS = False


def _validation_lines(error: ArgsError) -> str:
    """One line per problem, naming the model, the field path and the value, never pydantic's dump (issue 18)."""
    guard = secret_guard.active()  # the stack program's secrets, if it ran
    text = "\n".join(f"  - {line}" for line in error.lines)
    return guard.redact(text) if guard is not None else text


def evaluate(stack: str, project: Project, program: Callable[[], Any] | None = None) -> Evaluation:
    try:
        return run_stack(program or _default_program(project), project, stack, leave_garbage=_ONE_SHOT_PROCESS)
    except ArgsError as error:
        raise EvaluationError(f"stack {stack!r}: invalid component arguments:\n{_validation_lines(error)}") from None
    except (StackFileError, UsageError):
        raise
    except Exception as error:  # the program's own error, e.g. StackConfigError or a refused combination
        raise EvaluationError(str(error) or type(error).__name__) from None


def write_render(files: dict[str, str], out: Path) -> None:
    """Write `files` into `out`, replacing exactly what an earlier render wrote there, atomically; refuse anything
    else (cluster_tls/render_folder.py)."""
    try:
        replace_folder(files, out)
    except FolderError as error:
        raise UsageError(str(error)) from None


STDOUT = Path("-")


def _write_or_stream(files: dict[str, str], out: Path, stack: str, folder: str = "") -> None:
    """Into `out` (or `out/<folder>`), or with `--out -` onto stdout as one YAML stream."""
    if out == STDOUT:
        prefix = f"{folder}/" if folder else ""
        sys.stdout.write("".join(f"---\n# Source: {prefix}{path}\n{text}" for path, text in files.items()))
        return
    target = out / folder if folder else out
    write_render(files, target)
    print(f"wrote {len(files)} files for stack {stack!r} to {target}")


def _read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise UsageError(f"--against-dir {folder} is not a folder")
    files = {}
    for path in sorted(folder.rglob("*.yaml")):
        if path.stat().st_size > MAX_EXPANDED_CHARS:
            raise UsageError(f"--against-dir: {path} is over {MAX_EXPANDED_CHARS // 2**20} MiB; no render is")
        try:
            files[str(path.relative_to(folder))] = path.read_text()
        except (UnicodeDecodeError, OSError) as error:
            raise UsageError(f"--against-dir: cannot read {path} ({error})") from None
    return files


def _parser() -> argparse.ArgumentParser:
    # Global options are accepted before and after the subcommand (`cluster-tls render --project-dir X ...`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--program",
        default=argparse.SUPPRESS,
        help="another Pulumi program to evaluate: a folder with Pulumi.yaml (run as `pulumi up` runs it) or "
        "module:function; default: this project's stacks",
    )
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
        epilog="Exit status: 0 clean, 1 preflight errors or (diff) differences, 2 usage or input error (bad config, "
        "refused combination, unknown stack), 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"cluster-tls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", parents=[common], help="list what the stack would create, with counts")
    preview.add_argument("--stack", required=True, help="stack name, e.g. dev (reads stacks/Pulumi.<stack>.yaml)")
    preview.add_argument("--format", choices=("text", "json"), default="text")
    render = commands.add_parser("render", parents=[common], help="write every Kubernetes object and Helm release")
    rendered = render.add_mutually_exclusive_group(required=True)
    rendered.add_argument("--stack")
    rendered.add_argument("--all-stacks", action="store_true", help="every stack, each into <out>/<stack>")
    render.add_argument("--salted-for-diff", action="store_true", help=argparse.SUPPRESS)
    render.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: new, empty, or written by an earlier render (--all-stacks: one such folder per stack); "
        "- for one YAML stream on stdout, each file a document after a `# Source: <path>` line (as `helm template`)",
    )
    check = commands.add_parser(
        "check", parents=[common], help="run the preflight rules alone (errors exit 1); text, json or sarif"
    )
    checked = check.add_mutually_exclusive_group(required=True)
    checked.add_argument("--stack", action="append", help="stack to check (repeat for several)")
    checked.add_argument("--all-stacks", action="store_true", help="every stack, and the budget of all together")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    diff = commands.add_parser(
        "diff",
        parents=[common],
        help="what differs, per object and field: against another stack, an earlier render, or a git revision",
    )
    chosen = diff.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--stack", action="append", help="stack to compare (repeat for several)")
    chosen.add_argument("--all-stacks", action="store_true", help="every stack of the project")
    target = diff.add_mutually_exclusive_group(required=True)
    target.add_argument("--against", help="another stack")
    target.add_argument("--against-dir", type=Path, help="a folder written earlier by `render` (another revision)")
    target.add_argument(
        "--against-ref", help="a git revision (e.g. origin/main, HEAD~1): the same stack rendered with its own code"
    )
    diff.add_argument(
        "--evaluate-all",
        action="store_true",
        help="--against-ref: evaluate every stack at both sides, even where every input it read is the same",
    )
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    status = commands.add_parser(
        "status",
        parents=[common],
        help="is TLS working for the stack on its live cluster, and if not, why and what to change (read-only)",
        epilog="Exit status: 0 all working, 1 something not working, 2 usage or input error (or the cluster cannot "
        "be reached), 3 internal error.",
    )
    stacked = status.add_mutually_exclusive_group(required=True)
    stacked.add_argument("--stack", action="append", help="stack to read (repeat for several)")
    stacked.add_argument("--all-stacks", action="store_true", help="every stack of the project")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("--kubeconfig", help="kubeconfig file (default: the stack's provider, KUBECONFIG, ~/.kube)")
    status.add_argument("--context", help="kubeconfig context (default: the stack's provider or current context)")
    status.add_argument("--watch", action="store_true", help="read again until working or --timeout passes")
    status.add_argument("--timeout", type=float, default=300.0, help="--watch: give up after this many seconds")
    status.add_argument("--interval", type=float, default=2.0, help="--watch: seconds between reads (default 2)")
    return parser


def _run(args: argparse.Namespace) -> int:
    project_dir = getattr(args, "project_dir", None)
    program_arg = getattr(args, "program", None)
    if program_arg and project_dir is None and Path(program_arg).is_dir():
        project_dir = Path(program_arg)
    previous = None
    if args.command == "diff" and getattr(args, "against_ref", None) is not None:
        reads.start()  # before the project and program are read: what they read counts too
        if threading.current_thread() is threading.main_thread():  # scratch folders and the base's process go too
            previous = signal.signal(signal.SIGTERM, _end_on_sigterm)
    try:
        project = Project.find(project_dir, search_up=project_dir is None)
        program = load_program(program_arg, project) if program_arg else None
        code = _command(args, project, program)
    finally:
        reads.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return max(code, INPUT_ERROR) if getattr(args, "odd_stack_files", False) else code


def _end_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _command(args: argparse.Namespace, project: Project, program: Callable[[], Any] | None) -> int:
    if args.command == "check":
        return _check(args, project, program)
    if args.command == "status":
        return _status(args, project, program)
    if args.command == "preview":
        evaluation = evaluate(args.stack, project, program)
        findings = preflight(evaluation, project, args.stack)
        if args.format == "json":
            sys.stdout.write(preview_json(evaluation, args.stack, [f.as_json() for f in findings]))
        else:
            sys.stdout.write(preview_table(evaluation, args.stack))
            sys.stdout.write("\nPreflight:\n" + preflight_text(findings, args.stack))
        return FINDINGS if preflight_errors(findings) else CLEAN
    if args.command == "render":
        if args.out != STDOUT and args.out.exists() and not args.out.is_dir():
            raise UsageError(f"--out {args.out} is a file, not a folder")
        if args.all_stacks:
            return _render_all(args, project, program)
        # Only the base side of a `diff --against-ref` renders salted digests, into the diff's own scratch folder:
        # a salt known outside one diff would let its holder test guesses of low-entropy secrets (issue 19).
        salt = os.environ.get(SALT_VARIABLE) if args.salted_for_diff else None
        token = SECRET_SALT.set(bytes.fromhex(salt) if salt else None)
        try:
            files, warnings = _checked_render(args.stack, project, program)
        finally:
            SECRET_SALT.reset(token)
        for line in warnings:
            print(line, file=sys.stderr)
        _write_or_stream(files, args.out, args.stack)
        return CLEAN
    return _diff(args, project, program)


def _chosen_stacks(args: argparse.Namespace, project: Project) -> list[str]:
    if not args.all_stacks:
        stacks = list(dict.fromkeys(args.stack))
    else:
        stacks = project.stacks()
        if not stacks:
            raise UsageError(f"--all-stacks: no stack files (Pulumi.<stack>.yaml) in {project.stack_config_dir}")
        # A file whose name is no stack Pulumi can have is reported and left out; the others are still reviewed
        # (issue 31: one such file stopped the whole run). The run then exits 2.
        named = []
        for stack in stacks:
            try:
                project.stack_file(stack)
                named.append(stack)
            except StackFileError as error:
                print(f"error: {error}; left out of --all-stacks", file=sys.stderr)
                args.odd_stack_files = True
        if not named:
            raise UsageError(f"--all-stacks: no stack file in {project.stack_config_dir} names a stack Pulumi accepts")
        return named
    for stack in stacks:
        project.stack_file(stack)  # a name Pulumi accepts, before any folder is named after it
    return stacks


@dataclass(frozen=True)
class Failure:
    """Why one stack of several was not done, and the exit status it calls for."""

    message: str
    status: int

    def __str__(self) -> str:
        return self.message


class StackFailed(Exception):
    """The one stack asked for failed in a worker; `main` reports it as it would have in this process."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.status = failure.status


def _describe(error: BaseException) -> Failure:
    """A stack's failure, worded as `main` words it for a single stack."""
    if isinstance(error, PreflightFailed):
        return Failure(f"preflight rules failed; nothing was written:\n{error}".rstrip("\n"), FINDINGS)
    if isinstance(error, StackFileError | EvaluationError | UsageError | RenderError | RevisionError | WorkerLost):
        return Failure(str(error), INPUT_ERROR)
    return Failure(
        f"{type(error).__name__}: {error} (a bug of ours; set CLUSTER_TLS_DEBUG=1 for details)", INTERNAL_ERROR
    )


def _report_failures(failures: dict[str, Failure]) -> int:
    """Each failure on stderr; the exit status they call for (CLEAN when there are none)."""
    for stack, failure in failures.items():
        named = failure.message if f"stack {stack!r}" in failure.message else f"stack {stack!r}: {failure.message}"
        print(f"error: {named}", file=sys.stderr)
    return max((failure.status for failure in failures.values()), default=CLEAN)


def _values(outcomes: list[Outcome], failures: dict[str, Failure]) -> dict[str, Any]:
    """The outcomes that succeeded; the others go into `failures`."""
    values = {}
    for outcome in outcomes:
        if outcome.error is None:
            values[outcome.item] = outcome.value
        else:
            failures[outcome.item] = outcome.error
    return values


def _checked_render(
    stack: str, project: Project, program: Callable[[], Any] | None
) -> tuple[dict[str, str], list[str]]:
    """The stack's files and its preflight warnings; PreflightFailed if the rules found errors."""
    evaluation = evaluate(stack, project, program)
    files = render_files(evaluation)
    findings = preflight(evaluation, project, stack)
    if preflight_errors(findings):
        raise PreflightFailed(preflight_text(findings, stack))
    return files, [finding.line() for finding in findings]


def _render_all(args: argparse.Namespace, project: Project, program: Callable[[], Any] | None) -> int:
    stacks = _chosen_stacks(args, project)
    failures: dict[str, Failure] = {}
    rendered = _values(run_all(stacks, lambda stack: _checked_render(stack, project, program), _describe), failures)
    for stack, (files, warnings) in rendered.items():
        for line in warnings:
            print(line, file=sys.stderr)
        _write_or_stream(files, args.out, stack, folder=stack)
    return _report_failures(failures)


def _diff(args: argparse.Namespace, project: Project, program: Callable[[], Any] | None) -> int:
    with reads.paused():  # which stacks are reviewed, not what any of them reads
        stacks = _chosen_stacks(args, project)
    if (args.against or args.against_dir) and len(stacks) != 1:
        raise UsageError("--against and --against-dir compare one stack: give --stack once")
    # One random salt for both sides: a changed secret is seen as changed, never shown (cluster_tls/diffing.py).
    salt = os.urandom(16)
    token = SECRET_SALT.set(salt)
    failures: dict[str, Failure] = {}
    try:
        if args.against_ref is not None:
            per_stack = _diff_against_ref(args, project, program, stacks, failures)
            labels = dict.fromkeys([*stacks, *failures], args.against_ref)
        else:
            (stack,) = stacks
            after = render_files(evaluate(stack, project, program))
            if args.against_dir is not None:
                before, label = _read_tree(args.against_dir), str(args.against_dir)
            else:
                before, label = render_files(evaluate(args.against, project, program)), args.against
            per_stack, labels = {stack: structural_diff(before, after)}, {stack: label}
    finally:
        SECRET_SALT.reset(token)
    if not args.all_stacks and len(stacks) == 1 and failures:
        raise StackFailed(next(iter(failures.values())))
    messages = {stack: failure.message for stack, failure in failures.items()}
    if args.format == "markdown":
        sys.stdout.write(format_markdown(per_stack, labels, messages))
    elif args.format == "json":
        sys.stdout.write(format_json(per_stack, labels, messages))
    else:
        color = args.color == "always" or (args.color == "auto" and _terminal_colours(sys.stdout))
        sys.stdout.write(format_text(per_stack, labels, color, messages))
    return max(_report_failures(failures), FINDINGS if any(per_stack.values()) else CLEAN)


def _base_options(program_arg: str | None, project: Project) -> list[str]:
    """`--program` as the base revision's `cluster-tls` finds it: a folder inside the project at that revision's
    copy of it, a module:function (or a folder elsewhere) as given (issue 20)."""
    if not program_arg:
        return []
    folder = Path(program_arg).resolve()
    if folder.is_dir() and (folder == project.root or project.root in folder.parents):
        return ["--program", str(Path("{project}") / folder.relative_to(project.root))]
    return ["--program", program_arg]


def _diff_against_ref(
    args: argparse.Namespace,
    project: Project,
    program: Callable[[], Any] | None,
    stacks: list[str],
    failures: dict[str, Failure],
) -> dict[str, list[Any]]:
    """Each stack against its render at the revision, with the revision's own code in one child process that
    imports it meanwhile. Every stack is evaluated here, recording what it reads (cluster_tls/reads.py); the base
    side of a stack whose every input is the same at the revision renders the same, and is not evaluated
    (cluster_tls/unchanged.py)."""
    try:
        with reads.paused():
            commit = resolve_commit(project.root, args.against_ref)
            review = Review(project, commit)
    except (RevisionError, InputsError) as error:
        raise UsageError(str(error)) from None
    with reads.paused():
        removed = _removed_stack_files(review, project, stacks)
    for stack, path in removed.items():
        failures[stack] = Failure(
            f"stack {stack!r}: stack file removed ({path} is at {args.against_ref}, not here); "
            "whatever it deployed is no longer reviewed",
            FINDINGS,
        )
    stacks = [stack for stack in stacks if stack not in removed]
    for stack in stacks:
        file = os.path.normpath(os.path.abspath(project.stack_file(stack)))
        if review.relative(file) is None:
            failures[stack] = Failure(
                f"stack {stack!r}: not judged: its stack file {file} is outside the repository, so "
                f"{args.against_ref} has no version of it (stackConfigDir in Pulumi.yaml)",
                FINDINGS,
            )
    stacks = [stack for stack in stacks if stack not in failures]
    if review.dependencies:
        for stack in stacks:
            failures[stack] = Failure(
                f"stack {stack!r}: not judged: dependencies changed ({review.dependencies}); install the base's "
                "and render it with `render --out`, then compare with `diff --against-dir`",
                FINDINGS,
            )
        return {}
    program_arg = getattr(args, "program", None)
    program_folder = [Path(program_arg).resolve()] if program_arg else []
    with reads.paused():
        cached = (
            []
            if args.evaluate_all
            else [
                stack
                for stack in stacks
                if not _environment_imports(project, stack)
                and (record := review_cache.load(project.root, program_arg, stack)) is not None
                and review.same_as_recorded(record, review_cache.part)
            ]
        )

    def evaluated(stack: str) -> tuple[dict[str, str], str | None, list[str]]:
        files = render_files(evaluate(stack, project, program))
        recorded = reads.snapshot(program_folder, stack_file=project.stack_file(stack))
        with reads.paused():
            review_cache.save(project.root, program_arg, stack, review.record(recorded, project.stack_file(stack)))
            return files, review.why_evaluated(recorded), _environment_imports(project, stack)

    options = _base_options(getattr(args, "program", None), project)
    try:
        with reads.paused():
            base = RevisionRender(project.root, args.against_ref, SECRET_SALT.get(), options)
        with base:
            fresh = [stack for stack in stacks if stack not in cached]
            current = _values(run_all(fresh, evaluated, _describe), failures)
            reads.stop()
            todo = [stack for stack, (_, why, _) in current.items() if why is not None or args.evaluate_all]
            base.render(todo)
            before = base.results()
    except RevisionError as error:
        raise UsageError(str(error)) from None
    if os.environ.get("CLUSTER_TLS_DEBUG"):
        for stack in todo:
            why = current[stack][1] or "--evaluate-all"
            print(f"cluster-tls: stack {stack!r}: evaluated at {args.against_ref}: {why}", file=sys.stderr)
    same = len(current) - len(todo) + len(cached)
    if same:
        either = f" ({len(cached)} not here either: nothing their last evaluation read has changed)" if cached else ""
        print(
            f"cluster-tls: {same} of {len(stacks)} stacks read the same inputs at {args.against_ref} as here: "
            f"no differences, not evaluated at {args.against_ref}{either}",
            file=sys.stderr,
        )
    per_stack: dict[str, list[Any]] = {}
    for stack in stacks:
        if stack in cached:
            per_stack[stack] = []
            continue
        if stack not in current:
            continue
        files, why, environments = current[stack]
        environments = list(dict.fromkeys(environments + _environment_imports_at(review, project, stack)))
        if environments:
            failures[stack] = Failure(
                f"stack {stack!r}: not judged: it imports Pulumi ESC environment(s) {', '.join(environments)}, "
                "whose config cannot be evaluated offline",
                FINDINGS,
            )
        elif stack not in todo:
            per_stack[stack] = []
        else:
            side = before[stack]
            if isinstance(side, RevisionError):
                failures[stack] = Failure(str(side), INPUT_ERROR)
            else:
                per_stack[stack] = structural_diff(side or {}, files)
    return per_stack


def _removed_stack_files(review: Review, project: Project, stacks: list[str]) -> dict[str, str]:
    """Stacks whose file is at the base and not here: asked for by name, or (--all-stacks) every such file."""
    folder = project.stack_config_dir.resolve()
    relative = review.relative(str(folder))
    if relative is None:
        return {}
    prefix = f"{relative}/" if relative else ""
    at_base = {
        path[len(prefix) + len("Pulumi.") : -len(".yaml")]: path
        for path in review.base.entries
        if path.startswith(prefix)
        and "/" not in path[len(prefix) :]
        and path[len(prefix) :].startswith("Pulumi.")
        and path.endswith(".yaml")
        and path[len(prefix) :] != "Pulumi.yaml"
    }
    here = set(project.stacks())
    asked = stacks if stacks else []
    candidates = set(at_base) if set(asked) >= here else set(asked)
    return {stack: at_base[stack] for stack in sorted(candidates) if stack in at_base and stack not in here}


def _environment_imports(project: Project, stack: str) -> list[str]:
    return environment_imports(read_yaml(project.stack_file(stack)))


def _environment_imports_at(review: Review, project: Project, stack: str) -> list[str]:
    relative = review.relative(str(project.stack_file(stack).parent.resolve() / project.stack_file(stack).name))
    if relative is None or relative not in review.base.entries:
        return []
    blob = review.base.entries[relative][1]
    try:
        return environment_imports(load_bounded(review.base.blobs([blob])[blob].decode()))
    except (StackFileError, UnicodeDecodeError):
        return []


_FLAG = TypeAdapter(bool)


def _waivers(settings: Any, where: str) -> list[Waiver]:
    """A stack's waivers, for this project's stacks and other programs' alike: each names a rule that exists and
    gives a reason in words (issue 18)."""
    if settings in (None, {}):
        return []
    if not isinstance(settings, dict) or set(settings) - {"waive"}:
        keys = sorted(map(str, settings)) if isinstance(settings, dict) else type(settings).__name__
        raise UsageError(f"{where}: give {{waive: [{{rule: <id>, reason: <why>}}, ...]}} (got {keys})")
    entries = settings.get("waive")
    if not isinstance(entries, list | None):
        raise UsageError(f"{where}.waive: give a list of {{rule: <id>, reason: <why>}} (got {type(entries).__name__})")
    known = {r.id for r in RULES}
    waivers = []
    for index, entry in enumerate(entries or []):
        at = f"{where}.waive[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            raise UsageError(f"{at}: give {{rule: <id>, reason: <why>}}")
        rule, reason = entry["rule"], entry.get("reason")
        if rule not in known:
            near = difflib.get_close_matches(rule, sorted(known), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else f"; rules: {', '.join(sorted(known))}"
            raise UsageError(f"{at}.rule: no rule {rule[:40]!r}{hint}")
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{at}.reason: say why {rule} does not apply here (got {str(reason)[:40]!r})")
        if not reason.strip().isprintable():  # a newline would forge a finding line of its own in the output
            raise UsageError(f"{at}.reason: write it on one line, without control characters")
        waivers.append(Waiver(rule, reason.strip()))
    return waivers


class PreflightFailed(Exception):
    """Preflight rules found errors: nothing is written."""


def stack_settings(project: Project, stack: str) -> tuple[bool | None, list[Waiver]]:
    """The stack's `production` flag and its preflight waivers (`<project>:production`, `<project>:preflight`)."""
    entries = stack_entries(project, stack)
    production = entries.get(f"{project.name}:production", entries.get("production"))
    # Pulumi reads a key without a namespace as the project's own (`preflight` is `<project>:preflight`).
    key = f"{project.name}:preflight"
    if key in entries and "preflight" in entries:
        raise UsageError(f"stack {stack!r}: {key} and preflight are the same key: keep one")
    waivers = _waivers(entries.get(key, entries.get("preflight")), f"stack {stack!r}: {key}")
    if production is None:
        return False, waivers
    try:  # as the program reads it (a pydantic bool: "false", "no", "off" are false), never bool("false")
        return _FLAG.validate_python(production), waivers
    except ValidationError:
        raise UsageError(
            f"stack {stack!r}: {project.name}:production must be true or false (got {str(production)[:80]!r})"
        ) from None


def preflight(evaluation: Evaluation, project: Project, stack: str) -> list[Finding]:
    production, waivers = stack_settings(project, stack)
    return run_rules(from_evaluation(evaluation, production=production, stack=stack), waivers)


def _findings(stack: str, project: Project, program: Callable[[], Any] | None) -> tuple[list[Finding], StackView]:
    evaluation = evaluate(stack, project, program)
    production, waivers = stack_settings(project, stack)
    view = from_evaluation(evaluation, production=production, stack=stack)
    return run_rules(view, waivers), view


def _line_finder(project: Project, stack: str, program: Callable[[], Any] | None) -> Callable[[Finding], int | None]:
    """Where in the stack file a finding comes from: the line of the key whose section made its object (this
    project's own program only: another program's objects map to its stack file in its own way)."""
    if program is not None or not project.stack_file(stack).is_file():
        return lambda finding: None
    from .stacks.program import config_key_of

    lines = config_key_lines(project, stack)
    return lambda finding: lines.get(config_key_of(finding.urn) or "")


def _check(args: argparse.Namespace, project: Project, program: Callable[[], Any] | None) -> int:
    stacks = _chosen_stacks(args, project)
    failures: dict[str, Failure] = {}
    if len(stacks) == 1:
        checked = {stacks[0]: _findings(stacks[0], project, program)}
    else:
        checked = _values(run_all(stacks, lambda stack: _findings(stack, project, program), _describe), failures)
    results: dict[str, list[Finding]] = {stack: found for stack, (found, _) in checked.items()}
    if args.all_stacks and len(checked) > 1:
        # Let's Encrypt counts certificates per registered domain across every stack that uses the same account.
        together = StackView(objects=[o for _, view in checked.values() for o in view.objects])
        results["all stacks"] = run_rules(together, rules=[r for r in RULES if r.id == "LE1"])
    if args.format == "json":
        sys.stdout.write(preflight_json(results))
    elif args.format == "sarif":

        def location(stack: str) -> tuple[str, Callable[[Finding], int | None]]:
            if stack not in stacks:  # the findings across all stacks (LE1) belong to the project, not one file
                return "Pulumi.yaml", lambda finding: None
            return str(project.stack_file(stack).relative_to(project.root)), _line_finder(project, stack, program)

        logs = {stack: (found, *location(stack)) for stack, found in results.items()}
        sys.stdout.write(preflight_sarif(logs))
    else:
        for stack, findings in results.items():
            sys.stdout.write(preflight_text(findings, stack))
    found = FINDINGS if any(preflight_errors(f) for f in results.values()) else CLEAN
    return max(_report_failures(failures), found)


def _print_redacted(guard: Any, line: str) -> None:
    print(guard.redact(line), file=sys.stderr)


def _status(args: argparse.Namespace, project: Project, program: Callable[[], Any] | None) -> int:
    from . import status
    from .components.secret_guard import SecretGuard
    from .stackfile import load_stack_config

    for flag, seconds in (("--timeout", args.timeout), ("--interval", args.interval)):
        if not (math.isfinite(seconds) and seconds > 0):
            raise UsageError(f"{flag}: must be a number of seconds above 0 (got {seconds:g})")
    documents, texts, worst = [], [], CLEAN
    for stack in _chosen_stacks(args, project):
        evaluation = evaluate(stack, project, program)
        production, _ = stack_settings(project, stack)
        view = from_evaluation(evaluation, production=production, stack=stack, reveal=True)
        config, secret_keys = load_stack_config(project, stack)
        guard = SecretGuard(status.secret_strings(evaluation, config, secret_keys))
        try:
            target = status.target_of(evaluation, config, secret_keys, args.kubeconfig, args.context)
            once = functools.partial(status.status_once, evaluation, view, target)
            progress = functools.partial(_print_redacted, guard)
            result = status.watch(once, args.timeout, args.interval, progress) if args.watch else once()
        except (status.ClusterError, status.StatusInputError) as error:
            raise UsageError(guard.redact(f"stack {stack!r}: {error}")) from None
        shown = status.render(result, stack, args.format, guard)
        (documents if args.format == "json" else texts).append(shown)
        worst = max(worst, CLEAN if result.working else FINDINGS)
    if args.format == "json":
        sys.stdout.write(status.report.dumps(documents))
    else:
        sys.stdout.write("\n".join(texts))
    return worst


def _terminal_colours(stream: Any) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (no-color.org) or the terminal is dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _closed_streams(args: argparse.Namespace) -> str | None:
    """Run with stdout or stderr closed (`>&-`): Python sets them to None. Messages then go nowhere; a command whose
    result is its standard output is refused before it evaluates anything."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
    if sys.stdout is None:
        if args.command == "render" and args.out != STDOUT:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - its files are the result; the summary goes nowhere
        else:
            return f"standard output is closed: `{args.command}` has nowhere to write its result"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    closed = _closed_streams(args)
    if closed:
        print(f"error: {closed}", file=sys.stderr)
        return INPUT_ERROR
    try:
        code = _run(args)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print("cluster-tls: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `cluster-tls diff ... | head`: the reader has gone; end quietly
        # (docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1 if args.command == "diff" else 0
    except PreflightFailed as error:
        print(f"error: preflight rules failed; nothing was written:\n{error}", file=sys.stderr, end="")
        return FINDINGS
    except StackFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    except (StackFileError, EvaluationError, UsageError, RenderError, DiffInputError, WorkersSettingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return INPUT_ERROR
    except Exception as error:
        if isinstance(error, OSError) and error.errno in _MACHINE_ERRORS:
            # the machine's, not the package's: a full disk, a quota, a read-only folder
            print(f"error: {error.strerror}: {error.filename or 'writing the output'}", file=sys.stderr)
            return INPUT_ERROR
        # a bug of ours: still one line; CLUSTER_TLS_DEBUG=1 shows the traceback
        if os.environ.get("CLUSTER_TLS_DEBUG"):
            raise
        print(f"error: {type(error).__name__}: {error} (set CLUSTER_TLS_DEBUG=1 for details)", file=sys.stderr)
        return INTERNAL_ERROR


def entry_point() -> int:
    """The `cluster-tls` command."""
    global _ONE_SHOT_PROCESS
    _ONE_SHOT_PROCESS = True
    return main()


if __name__ == "__main__":
    raise SystemExit(entry_point())
