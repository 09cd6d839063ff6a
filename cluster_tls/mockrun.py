"""Run a Pulumi program on Pulumi's own mock runtime and record every registration.

This is the code path `pulumi up` runs, with the engine replaced by `pulumi.runtime.set_mocks`: the
program, the components and their validation are real; only the provider calls are mocked. What the
mock engine cannot show (options such as `parent`) is read from the RegisterResource requests, or, on the direct
path (direct_registration.py), from the SDK's prepared registration.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2

from . import direct_registration, offline_shortcuts
from .stackfile import OFFLINE, OFFLINE_SECRET_PLACEHOLDER, Project, load_stack_config

STACK_TYPE = "pulumi:pulumi:Stack"


class Secret:
    """A value that was a Pulumi secret; it renders only as the redaction marker."""

    MARKER = "[secret]"
    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return self.MARKER

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self.MARKER)


def _unwrap(value: Any) -> Any:
    """Replace the SDK's secret wrappers with `Secret` markers, recursively.

    Values cross the engine as protobuf Structs, whose numbers are all doubles: whole numbers are
    turned back into ints so that `size: 256` does not come out as `256.0`.
    """
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(_unwrap(value.get("value")))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _deserialized(value: Any) -> Any:
    """A serialized property bag as the engine keeps it, each secret where it is (`Secret` markers nested).

    The SDK's `deserialize_properties` moves a nested secret up to its top-level property (it resolves outputs,
    which can be secret only as a whole: pulumi/runtime/rpc.py), so one secret leaf would hide the whole spec or
    values file; the engine and its state keep the secret leaf where it is (issue 19). Everything else (unknowns,
    assets, resource references) is the SDK's own deserialization.
    """
    if isinstance(value, struct_pb2.Struct):
        if rpc._special_sig_key in value.fields:
            if value[rpc._special_sig_key] == rpc._special_secret_sig:
                return Secret(_deserialized(value["value"]))
            return _unwrap(rpc.deserialize_property(value))
        items = {key: _deserialized(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not None}
    if isinstance(value, struct_pb2.ListValue):
        return [_deserialized(item) for item in value]
    return _unwrap(rpc.deserialize_property(value))


def _rewrap(value: Any) -> Any:
    """The inverse of `_unwrap`: `Secret` markers back into the SDK's secret wrappers."""
    if isinstance(value, Secret):
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": _rewrap(value.reveal())}
    if isinstance(value, dict):
        return {k: _rewrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrap(v) for v in value]
    return value


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    provider: str

    @property
    def explicit_dependencies(self) -> set[str]:
        implicit = {u for urns in self.property_dependencies.values() for u in urns}
        return set(self.dependencies) - implicit


@dataclass
class Evaluation:
    """Everything a program registered, in registration order."""

    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # component URN -> register_outputs
    logs: list[str] = field(default_factory=list)

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} registrations named {name!r}")
        return matches[0]

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.registrations if r.parent == urn]

    def stack_outputs(self) -> dict[str, Any]:
        """What the program exported (`pulumi.export`), by name."""
        for urn, values in self.outputs.items():
            if urn.split("::")[2:3] == [STACK_TYPE]:
                return dict(sorted(values.items()))
        return {}


SAMPLES = Path(__file__).resolve().parent / "samples"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def default_live_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """Objects a program reads from the cluster (`<Resource>.get`), as the offline runner serves them."""
    return {
        ("kubernetes:core/v1:ConfigMap", "kubesphere-system/kubesphere-config"): {
            "data": {"kubesphere.yaml": (SAMPLES / "kubesphere-config.yaml").read_text()}
        },
        ("kubernetes:apps/v1:Deployment", "kubesphere-system/ks-apiserver"): {
            "spec": yaml.safe_load((SAMPLES / "ks-apiserver-deployment.yaml").read_text())
        },
    }


class _EchoMocks(pulumi.runtime.Mocks):
    """State = inputs, id = name: what a successful create returns, without a cluster. Reads of existing
    objects are answered from `live_objects`."""

    # Types whose state is more than their inputs (see new_resource).
    CHANGES_STATE = frozenset({"kubernetes:helm.sh/v3:Release", "random:index/randomPassword:RandomPassword"})

    def __init__(self, live_objects: dict[tuple[str, str], dict[str, Any]] | None = None):
        self.live_objects = default_live_objects() if live_objects is None else live_objects

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.resource_id:
            live = self.live_objects.get((args.typ, args.resource_id))
            if live is None and args.typ == CRD_TYPE:
                # No cluster, no schema: a program that reads an installed CRD (WhizardTLS) sees none and says so.
                return args.resource_id, {"metadata": {"name": args.resource_id}}
            if live is None:
                raise RuntimeError(f"offline: no live {args.typ} {args.resource_id!r} to read")
            return args.resource_id, {**args.inputs, **live}
        state = dict(args.inputs)
        if args.typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {
                "name": args.inputs.get("name", args.name),
                "namespace": args.inputs.get("namespace", "default"),
                "chart": args.inputs.get("chart"),
                "version": args.inputs.get("version"),
                "status": "deployed",
                "revision": 1,
            }
        if args.typ == "random:index/randomPassword:RandomPassword":
            # What a create would generate; it is a Pulumi secret and renders as [secret].
            state["result"] = "offline-generated-password"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, evaluation: Evaluation):
        super().__init__(mocks)
        self.evaluation = evaluation
        # The SDK's mock monitor gives each worker thread an event loop it never closes; left to the garbage
        # collector at interpreter exit they print "Exception ignored ... Invalid file descriptor". They are
        # collected here and closed when the run ends.
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _remember_loop(self) -> None:
        self.thread_loops.add(pulumi_mocks._ensure_event_loop())

    def echoes(self, type_: str) -> bool:
        """Whether the mock engine answers a registration of `type_` with its inputs as state."""
        return type_ != STACK_TYPE and type_ not in _EchoMocks.CHANGES_STATE

    def record(
        self,
        *,
        urn: str,
        type_: str,
        name: str,
        parent: str,
        custom: bool,
        serialized_inputs: Any,
        dependencies: tuple[str, ...],
        property_dependencies: dict[str, tuple[str, ...]],
        provider: str,
        state: dict[str, Any] | None = None,
        resource_id: str | None = None,
    ) -> None:
        inputs = _deserialized(serialized_inputs)
        if state is not None:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        self.evaluation.registrations.append(
            Registration(
                urn=urn,
                type=type_,
                name=name,
                parent=parent,
                custom=custom,
                inputs=inputs,
                dependencies=dependencies,
                property_dependencies=property_dependencies,
                provider=provider,
            )
        )

    def Invoke(self, request):
        # A resource reference to an echoed object is answered from its registration (state = inputs), which the
        # direct path does not copy into `self.resources` (MockMonitor.Invoke, pulumi/runtime/mocks.py).
        if request.tok == "pulumi:pulumi:getResource":
            urn = rpc.deserialize_properties(request.args)["urn"]
            if urn not in self.resources:
                registration = self.evaluation.by_urn().get(urn)
                if registration is not None:
                    self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
                        urn, f"{registration.name}-id", _rewrap(registration.inputs)
                    )
        return super().Invoke(request)

    def record_outputs(self, urn: str, serialized_outputs: Any) -> None:
        outputs = _deserialized(serialized_outputs)
        if urn.split("::")[2:3] == [STACK_TYPE]:
            # The root stack registers twice (_with_exports), on threads that may finish in either order: the
            # first registration is empty, the exports are the second's.
            outputs = {**self.evaluation.outputs.get(urn, {}), **outputs}
        self.evaluation.outputs[urn] = outputs

    def RegisterResource(self, request):
        # Registrations the direct path (direct_registration.py) leaves to the SDK come here.
        self._remember_loop()
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        if self.echoes(request.type) and not request.importId:
            # The mock engine's answer is the inputs echoed back as state (_EchoMocks): the request's own
            # serialized object is that answer, so it is not deserialized and serialized again
            # (MockMonitor.RegisterResource in pulumi/runtime/mocks.py does both, per resource).
            urn = self.make_urn(request.parent, request.type, request.name)
            response = resource_pb2.RegisterResourceResponse(urn=urn, id=f"{request.name}-id", object=request.object)
        else:
            response = super().RegisterResource(request)
        self.record(
            urn=response.urn,
            type_=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            serialized_inputs=request.object,
            dependencies=tuple(request.dependencies),
            property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            state=self.resources[response.urn].state if response.urn in self.resources else None,
            resource_id=response.id or f"{request.name}-id",
        )
        return response

    def RegisterResourceOutputs(self, request):
        self._remember_loop()
        self.record_outputs(request.urn, request.outputs)
        return super().RegisterResourceOutputs(request)


class _LogCollector:
    def __init__(self, evaluation: Evaluation):
        self.evaluation = evaluation

    def _log(self, level: str, msg: str, *args: Any) -> None:
        self.evaluation.logs.append(f"{level}: {msg % args if args else msg}")

    def debug(self, msg, *args, **_):  # debug output is not kept
        pass

    def info(self, msg, *args, **_):
        self._log("info", msg, *args)

    def warning(self, msg, *args, **_):
        self._log("warning", msg, *args)

    def error(self, msg, *args, **_):
        self._log("error", msg, *args)


@contextmanager
def _isolated_environment(cwd: Path | None):
    """Config must come from the stack file alone, not from PULUMI_CONFIG* variables of the caller; the
    program runs in its project folder, as the Pulumi CLI runs it."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PULUMI_CONFIG")}
    previous = Path.cwd() if cwd is not None else None
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.environ.update(saved)
        if previous is not None:
            os.chdir(previous)


def _with_exports(program: Callable[[], Any]) -> Callable[[], None]:
    """`program`, then its `pulumi.export`s registered as the root stack's outputs. Under mocks the SDK registers the
    root stack's outputs when `set_mocks` creates it, before the program has exported anything; a real run
    registers them after the program (`Stack.__init__` runs it, then `Stack._finish`, pulumi/runtime/stack.py)."""

    def run() -> None:
        program()
        root = settings.get_root_resource()
        if root is not None and getattr(root, "outputs", None):
            root._outputs_registered = False  # type: ignore[attr-defined]
            root._finish()  # type: ignore[attr-defined]

    return run


@contextmanager
def _unset_secrets_stand_in(evaluation: Evaluation):
    """Offline, `Config.require_secret` of a key the stack file does not set stands in as a secret placeholder,
    with a warning, as the package's own stacks stand in for unset DNSPod credentials (issue 31: another
    program's require_secret failed until the user wrote `secure:` values). Each operator sets such secrets in
    their own stack config; `pulumi up` still requires them."""
    from pulumi.runtime.config import get_config

    original = pulumi.Config.require_secret

    def require_secret(self: pulumi.Config, key: str) -> pulumi.Output[str]:
        full_key = self.full_key(key)
        if get_config(full_key) is None:
            evaluation.logs.append(
                f"warning: config {full_key!r} is not set: a secret stands in for it offline; `pulumi up` requires "
                f"it (pulumi config set --secret {key} ...)"
            )
            return pulumi.Output.secret(OFFLINE_SECRET_PLACEHOLDER)
        return original(self, key)

    pulumi.Config.require_secret = require_secret  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.Config.require_secret = original  # type: ignore[method-assign]


def run_program(
    program: Callable[[], Any],
    *,
    project: str = "cluster-tls",
    stack: str = "dev",
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    evaluation: Evaluation | None = None,
    cwd: Path | None = None,
    offline: bool = False,
    live_objects: dict[tuple[str, str], dict[str, Any]] | None = None,
    direct: bool = True,
    leave_garbage: bool = False,
) -> Evaluation:
    """Run `program` on a fresh mock runtime and return what it registered.

    Exceptions raised by the program (or inside an `apply`) propagate to the caller; pass `evaluation`
    to see what had been registered by then. `direct=False` sends every registration through the SDK's own
    RPC path to the mock engine (direct_registration.py says what `direct` changes: nothing a program sees).
    """
    evaluation = evaluation if evaluation is not None else Evaluation()
    offline_token = OFFLINE.set(offline)
    monitor = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        stand_in = _unset_secrets_stand_in(evaluation) if offline else nullcontext()
        with _isolated_environment(cwd), offline_shortcuts.installed(leave_garbage=leave_garbage), stand_in:
            settings.reset_options()
            monitor = _RecordingMonitor(_EchoMocks(live_objects), evaluation)
            pulumi.runtime.set_mocks(
                monitor.mocks,
                project=project,
                stack=stack,
                preview=False,
                monitor=monitor,
                logger=_LogCollector(evaluation),  # type: ignore[arg-type]
            )
            pulumi.runtime.set_all_config(
                {f"{k}" if ":" in k else f"{project}:{k}": v for k, v in (config or {}).items()},
                secret_keys=secret_keys or [],
            )
            with direct_registration.installed(monitor) if direct else nullcontext():
                pulumi_mocks.test(_with_exports(program))()
    finally:
        settings.reset_options()
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
        for thread_loop in monitor.thread_loops if monitor is not None else ():
            if thread_loop is not loop and not thread_loop.is_running():
                thread_loop.close()
        OFFLINE.reset(offline_token)
    return evaluation


def run_stack(program: Callable[[], Any], project: Project, stack: str, **options: Any) -> Evaluation:
    """Run `program` offline as `pulumi up --stack <stack>` would: with the stack file's config and secrets, in the
    project folder. `options` go to `run_program`."""
    config, secret_keys = load_stack_config(project, stack)
    return run_program(
        program,
        project=project.name,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        cwd=project.root,
        offline=True,
        **options,
    )


def folder_program(folder: Path) -> Callable[[], None]:
    """A Pulumi project folder run the way the Pulumi CLI runs a Python program: its folder first on sys.path,
    `runpy.run_path(<folder>, run_name="__main__")` (pulumi-language-python-exec)."""
    root = str(folder.resolve())

    def program() -> None:
        sys.path.insert(0, root)
        try:
            runpy.run_path(root, run_name="__main__")
        finally:
            sys.path.remove(root)

    return program
