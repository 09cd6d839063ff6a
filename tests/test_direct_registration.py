"""The offline runner's direct registration path (cluster_tls/direct_registration.py) against the SDK's own RPC
path to the mock engine: same registrations, same outputs, logs, preview and rendered bytes,
for every stack, every seed fixture, a second program and a fleet. And the SDK stand-ins of
cluster_tls/offline_shortcuts.py give the SDK's answers."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc

from cluster_tls import offline_shortcuts
from cluster_tls.cli import _default_program
from cluster_tls.manifests import render_files
from cluster_tls.mockrun import Evaluation, Secret, run_program, run_stack
from cluster_tls.preview import preview_table
from cluster_tls.stackfile import Project

REPO = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).parent / "seeds"


def _plain(value):
    """Values with secrets as ("secret", value); map key order (a protobuf Struct's, not the program's) left out by
    dict equality."""
    if isinstance(value, Secret):
        return ("secret", _plain(value.reveal()))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return (type(value).__name__, value)


def _comparable(evaluation: Evaluation) -> dict:
    return {
        # The SDK sends dependencies as a set's iteration order; the order carries no meaning.
        # The arrival order is the event loop's (worker threads on the SDK path) and carries no meaning: preview
        # and render order what they show themselves.
        "registrations": {
            r.urn: (
                r.type,
                r.parent,
                r.custom,
                _plain(r.inputs),
                sorted(r.dependencies),
                {k: sorted(v) for k, v in r.property_dependencies.items()},
                r.provider,
            )
            for r in evaluation.registrations
        },
        "outputs": _plain(evaluation.outputs),
        "logs": evaluation.logs,
        "render": render_files(evaluation),
    }


def _both(program, **kwargs) -> tuple[dict, dict, Evaluation]:
    through_sdk = run_program(program, direct=False, **kwargs)
    direct = run_program(program, direct=True, **kwargs)
    return _comparable(through_sdk), _comparable(direct), direct


def _project_with(tmp_path: Path, stack_file: Path) -> Project:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(stack_file, tmp_path / "stacks" / stack_file.name)
    return Project.find(tmp_path)


STACKS = [("repo", name) for name in ("dev", "staging", "prod")] + [
    ("seed", path.name) for path in sorted(SEEDS.glob("Pulumi.seed-*.yaml"))
]


@pytest.mark.parametrize(("where", "name"), STACKS, ids=[n for _, n in STACKS])
def test_stacks_evaluate_the_same_through_both_paths(where: str, name: str, tmp_path: Path):
    if where == "repo":
        project, stack = Project.find(REPO), name
    else:
        project = _project_with(tmp_path, SEEDS / name)
        stack = name.removeprefix("Pulumi.").removesuffix(".yaml")
    program = _default_program(project)
    try:
        through_sdk = _comparable(run_stack(program, project, stack, direct=False))
    except Exception as error:  # a seed the package refuses: refused alike on both paths
        with pytest.raises(type(error)) as second:
            run_stack(program, project, stack, direct=True)
        assert str(second.value) == str(error)
        return
    evaluation = run_stack(program, project, stack, direct=True)
    assert _comparable(evaluation) == through_sdk
    assert len(evaluation.registrations) > 5
    assert preview_table(evaluation, stack) == preview_table(run_stack(program, project, stack, direct=False), stack)


def test_a_fleet_evaluates_the_same_through_both_paths():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from fleet import fleet_program
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    through_sdk, direct, evaluation = _both(fleet_program(4, 3), offline=True)
    assert direct == through_sdk
    # cert-manager (component, release), the CA chain (component, 3 objects), per host: component + 3 objects
    assert len(evaluation.registrations) == 2 + 4 + 4 * 3 * 4


def _program_with_everything_the_direct_path_hands_back():
    """Resource references, a read, a secret, an Output input, aliases, ignore_changes and a provider."""
    provider = k8s.Provider("cluster", kubeconfig="{}")
    namespace = k8s.core.v1.Namespace("ns", metadata={"name": "team"}, opts=pulumi.ResourceOptions(provider=provider))
    secret = k8s.core.v1.Secret(
        "s",
        metadata={"name": "s", "namespace": namespace.metadata["name"]},
        string_data={"password": pulumi.Output.secret("hunter2")},
        opts=pulumi.ResourceOptions(
            provider=provider, aliases=[pulumi.Alias(name="old")], ignore_changes=["data"], depends_on=[namespace]
        ),
    )
    k8s.core.v1.ConfigMap.get("live", "kubesphere-system/kubesphere-config")
    pulumi.export("secret_name", secret.metadata.apply(lambda m: m["name"]))
    pulumi.export("namespace", namespace)


def test_sdk_features_evaluate_the_same_through_both_paths():
    through_sdk, direct, evaluation = _both(_program_with_everything_the_direct_path_hands_back, offline=True)
    assert direct == through_sdk
    secret = next(r for r in evaluation.registrations if r.type == "kubernetes:core/v1:Secret")
    assert repr(secret.inputs["stringData"]) == "[secret]"
    assert secret.provider.endswith("pulumi:providers:kubernetes::cluster::cluster-id")
    assert secret.property_dependencies["metadata"]


def test_an_error_inside_a_registration_fails_the_run_on_both_paths():
    def program():
        k8s.apiextensions.CustomResource("bad", api_version="v1", kind="X", metadata={"name": object()})

    for direct in (False, True):
        with pytest.raises(ValueError, match="While processing resource: 'bad'") as error:
            run_program(program, direct=direct)
        assert "unexpected input of type object" in str(error.value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        3,
        [],
        {},
        {"a": [1, {"b": "c"}], "d": None},
        pulumi.UNKNOWN,
        {"a": [1, {"b": pulumi.UNKNOWN}]},
        [[[]], [{"x": [pulumi.UNKNOWN]}]],
        {"deep": [{"n": i} for i in range(50)]},
    ],
)
def test_contains_unknowns_answers_as_the_sdk_does(value):
    assert offline_shortcuts.contains_unknowns(value) == rpc.contains_unknowns(value)


def test_contains_unknowns_on_shared_and_cyclic_containers():
    shared: dict = {"u": pulumi.UNKNOWN}
    cyclic: list = [1]
    cyclic.append(cyclic)
    for value in ({"a": shared, "b": shared}, cyclic, [cyclic, {"x": shared}]):
        assert offline_shortcuts.contains_unknowns(value) == rpc.contains_unknowns(value)


def test_the_sdk_is_restored_after_a_run():
    from pulumi import _types
    from pulumi import resource as sdk_resource_module
    from pulumi.runtime import resource as sdk_resource

    before = (
        sdk_resource_module.register_resource,
        sdk_resource_module.register_resource_outputs,
        sdk_resource._get_stack_trace,
        rpc.contains_unknowns,
        _types.resource_types,
    )
    run_program(lambda: k8s.core.v1.Namespace("ns"))
    with pytest.raises(RuntimeError):
        run_program(lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert (
        sdk_resource_module.register_resource,
        sdk_resource_module.register_resource_outputs,
        sdk_resource._get_stack_trace,
        rpc.contains_unknowns,
        _types.resource_types,
    ) == before
