"""`cluster-tls status` without a cluster (issue 30): what it says when it cannot read one, how it chooses the
cluster `pulumi up` would use, that a secret kubeconfig stays secret, and the drift judge over every shipped
stack's objects. What it says of a live cluster is proven on the real tier (tests/e2e/test_status.py)."""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cluster_tls.cli import evaluate
from cluster_tls.preflight.view import from_evaluation, is_known
from cluster_tls.stackfile import Project
from cluster_tls.status.drift import drifted_fields
from tests.test_passphrase import PASSPHRASE, _encrypt, _project

REPO = Path(__file__).resolve().parent.parent
REFUSED = "https://127.0.0.1:9"  # the discard port: nothing listens


def kubeconfig(server: str = REFUSED, context: str = "here") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        }
    )


def run(*args: str, env: dict[str, str] | None = None, project: Path = REPO) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",) and not k.startswith("PULUMI_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "status", *args, "--project-dir", str(project)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**base, **(env or {})},
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    return done.stderr


def test_no_kubeconfig_says_what_to_set(tmp_path):
    error = one_line_error(run("--stack", "dev", env={"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}))
    assert "cannot load the kubeconfig" in error and "set KUBECONFIG, pass --kubeconfig" in error


def test_a_cluster_that_refuses_is_named_with_why(tmp_path):
    (tmp_path / "config").write_text(kubeconfig())
    error = one_line_error(run("--stack", "dev", "--kubeconfig", str(tmp_path / "config")))
    assert error == f"error: stack 'dev': cannot reach the API server at {REFUSED}: Connection refused\n"
    # KUBECONFIG as kubectl reads it: a list of files, merged, the first to set current-context wins
    (tmp_path / "other").write_text(kubeconfig(context="other"))
    listed = os.pathsep.join([str(tmp_path / "config"), str(tmp_path / "other")])
    assert one_line_error(run("--stack", "dev", env={"KUBECONFIG": listed})) == error


def test_the_stacks_provider_context_is_the_one_read(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (folder / "stacks").mkdir()
    document = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"]["cluster-tls:kubernetes"] = {"context": "the-stacks-context"}
    (folder / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "config").write_text(kubeconfig())
    error = one_line_error(run("--stack", "dev", env={"KUBECONFIG": str(tmp_path / "config")}, project=folder))
    assert "the-stacks-context" in error  # not the kubeconfig's current context
    # --context overrides it, as kubectl's does
    error = one_line_error(
        run("--stack", "dev", "--context", "here", env={"KUBECONFIG": str(tmp_path / "config")}, project=folder)
    )
    assert "cannot reach the API server" in error


def test_a_secret_kubeconfig_stays_secret(tmp_path):
    secret_config = kubeconfig(server="https://127.0.0.1:9")
    project = _project(tmp_path, "dev", {("cluster-tls:privateCa", "caCommonName"): "cluster-tls dev CA"})
    document = yaml.safe_load((project / "stacks" / "Pulumi.dev.yaml").read_text())
    salt = base64.b64decode(document["encryptionsalt"].split(":")[1])
    key = hashlib.pbkdf2_hmac("sha256", PASSPHRASE.encode(), salt, 1_000_000, 32)
    document["config"]["cluster-tls:kubernetes"] = {"kubeconfig": {"secure": _encrypt(key, secret_config)}}
    (project / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    error = one_line_error(run("--stack", "dev", project=project))
    assert "cannot decrypt: set PULUMI_CONFIG_PASSPHRASE" in error
    error = one_line_error(run("--stack", "dev", project=project, env={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}))
    assert error == (
        "error: stack 'dev': cannot reach the API server of the stack's secret kubeconfig: Connection refused\n"
    )
    assert "127.0.0.1" not in error and "not-a-real-token" not in error


@pytest.mark.parametrize(
    "flag,value", [("--timeout", "0"), ("--timeout", "nan"), ("--interval", "-1"), ("--interval", "inf")]
)
def test_bad_watch_limits_are_usage_errors(flag, value):
    error = one_line_error(run("--stack", "dev", "--watch", flag, value))
    assert f"{flag}: must be a number of seconds above 0 (got {value})" in error


# --- the drift judge ---------------------------------------------------------------------------------------------


def _leaves(value, path="", steps=()):
    """(path in drift's notation, the steps to it, value) of each known scalar leaf."""
    if not is_known(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key), (*steps, key))
    elif isinstance(value, list):
        keyed = value and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in value)
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[name={item['name']}]" if keyed else f"{path}[{index}]", (*steps, index))
    else:
        yield path, steps, value


def _set(document, steps, value):
    target = document
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value


def _as_live(obj) -> dict:
    """What the API server would hold: the object as set, plus what servers and controllers add."""
    live = copy.deepcopy({k: v for k, v in obj.body.items() if is_known(v)})
    meta = live.setdefault("metadata", {})
    meta.update({"uid": "0000", "resourceVersion": "1", "managedFields": []})
    meta.setdefault("annotations", {})["added-by-a-controller"] = "yes"
    if isinstance(live.get("spec"), dict):
        live["spec"]["fieldDefaultedByTheServer"] = True
    live["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    return live


@pytest.fixture(scope="module")
def stack_objects():
    project = Project.find(REPO)
    found = []
    for stack in project.stacks():
        view = from_evaluation(evaluate(stack, project))
        found += [o for o in view.objects if o.source != "chart"]
    return found


def test_drift_reports_exactly_the_field_changed(stack_objects):
    """Over every shipped stack's objects: what the cluster adds is no drift; each known leaf changed is named, and
    nothing else is."""
    rng = random.Random(30)
    checked = 0
    for obj in stack_objects:
        live = _as_live(obj)
        assert drifted_fields(obj, live) == [], obj.describe()
        leaves = [
            leaf
            for leaf in _leaves({k: v for k, v in obj.body.items() if k not in ("apiVersion", "kind", "metadata")})
            if leaf[1][0] not in ("data", "stringData")
        ]
        for path, steps, value in rng.sample(leaves, min(len(leaves), 8)):
            changed = copy.deepcopy(live)
            _set(changed, steps, f"{value}-changed" if not isinstance(value, bool) else not value)
            renamed = path.endswith("].name") and path.rsplit("[", 1)[-1].startswith("name=")
            expected = path.removesuffix(".name") if renamed else path  # a renamed item is a missing item
            assert drifted_fields(obj, changed) == [expected], (obj.describe(), path)
            checked += 1
        labels = (obj.metadata.get("labels") or {}) if is_known(obj.metadata) else {}
        for key in labels:
            changed = copy.deepcopy(live)
            changed["metadata"]["labels"][key] = "changed"
            assert drifted_fields(obj, changed) == [f"labels.{key}"]
    assert checked > 100, checked


def test_a_removed_list_item_and_a_missing_object_field_are_drift(stack_objects):
    gateway = next(o for o in stack_objects if o.kind == "Gateway" and o.group == "networking.istio.io")
    live = _as_live(gateway)
    live["spec"]["servers"] = []
    assert drifted_fields(gateway, live) == ["spec.servers"]
    live = _as_live(gateway)
    del live["spec"]
    assert drifted_fields(gateway, live) == ["spec"]
