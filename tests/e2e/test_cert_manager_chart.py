"""The cert-manager chart (v1.21.1, from cert-manager's Go module) with the values each stack's CertManagerInstall
passes: the real Helm renders them (the chart's values.schema.json accepts them) and every value switches on what
it is for; a Release of the chart through the real provider installs with waits off and uninstalls.

No pod runs here, so the stacks' own Release (which waits for the webhook through the startupapicheck hook) cannot
finish; the harness runs cert-manager as a process instead (cluster.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.engine import REPO, Engine, local_chart_release

CHART = "cert-manager-v1.21.1"
NAMESPACE = "cert-manager-chart"


def _stack_values(stack: str, tmp_path: Path) -> dict:
    out = tmp_path / f"render-{stack}"
    done = subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "render", "--stack", stack, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load((out / "helm" / "cert-manager" / "cert-manager" / "values.yaml").read_text())


def _template(e2e_bin: Path, values: dict, tmp_path: Path) -> list[dict]:
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump(values))
    rendered = subprocess.run(
        [
            e2e_bin / "helm",
            "template",
            "cert-manager",
            e2e_bin.parent / "charts" / CHART,
            "-n",
            "cert-manager",
            "-f",
            file,
        ],
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr  # includes the chart's values.schema.json
    return [d for d in yaml.safe_load_all(rendered.stdout) if d]


def _find(docs: list[dict], kind: str, name: str) -> dict | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_value_switches_on_what_it_is_for(stack, e2e_bin, tmp_path):
    values = _stack_values(stack, tmp_path)
    docs = _template(e2e_bin, values, tmp_path)
    controller = _find(docs, "Deployment", "cert-manager")["spec"]["template"]["spec"]["containers"][0]["args"]
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    assert len(crds) == (6 if values["crds"]["enabled"] else 0)
    assert (_find(docs, "Job", "cert-manager-startupapicheck") is not None) == values["startupapicheck"]["enabled"]
    assert (_find(docs, "Service", "cert-manager") is not None) == values["prometheus"]["enabled"]
    if "dns01RecursiveNameservers" in values:
        assert f"--dns01-recursive-nameservers={values['dns01RecursiveNameservers']}" in controller
        only = values["dns01RecursiveNameserversOnly"]
        assert ("--dns01-recursive-nameservers-only=true" in controller) == only
    crn = values.get("clusterResourceNamespace")
    assert f"--cluster-resource-namespace={crn or '$(POD_NAMESPACE)'}" in controller
    for arg in values.get("extraArgs", []):
        assert arg in controller
    webhook = _find(docs, "Deployment", "cert-manager-webhook")["spec"]["template"]["spec"]
    if (values.get("webhook") or {}).get("hostNetwork"):
        assert webhook["hostNetwork"] is True
        assert "--secure-port=10260" in webhook["containers"][0]["args"]
    if ((values.get("config") or {}).get("gatewayAPI") or {}).get("enabled"):
        config = yaml.safe_load(_find(docs, "ConfigMap", "cert-manager")["data"]["config.yaml"])
        assert config["gatewayAPI"]["enabled"] is True


def test_a_release_of_the_chart_installs_with_waits_off(engine: Engine, cluster, e2e_bin, tmp_path):
    values = {**_stack_values("dev", tmp_path), "crds": {"enabled": False}}  # the cluster has the CRDs already
    # Hooks off too: the startupapicheck Job would wait for a pod.
    program = local_chart_release(
        "cert-manager",
        e2e_bin.parent / "charts" / CHART,
        NAMESPACE,
        values,
        create_namespace=True,
        disable_webhooks=True,
    )

    with engine.program_stack("e2e-cert-manager-chart", tmp_path / "project", program) as (_, stack):
        kube = cluster.kube
        try:
            assert stack.up(on_output=print).summary.result == "succeeded"
            deployments = {d["metadata"]["name"] for d in kube.list("apps/v1", "Deployment", NAMESPACE)}
            assert deployments == {"cert-manager", "cert-manager-cainjector", "cert-manager-webhook"}
            hook = kube.get("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "cert-manager-webhook")
            assert hook["webhooks"][0]["clientConfig"]["service"]["namespace"] == NAMESPACE
            assert kube.get("batch/v1", "Job", "cert-manager-startupapicheck", NAMESPACE) is None  # hooks off
            stack.destroy()
            assert kube.list("apps/v1", "Deployment", NAMESPACE) == []
        finally:  # the chart's webhook would refuse every cert-manager object of the tests that follow
            for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
                kube.delete("admissionregistration.k8s.io/v1", kind, "cert-manager-webhook")
