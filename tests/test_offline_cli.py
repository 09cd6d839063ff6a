"""`cluster-tls preview | render | diff`: the offline default for people without a cluster."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from cluster_tls.cli import evaluate, main
from cluster_tls.manifests import dump_yaml, helm_releases, kubernetes_objects, render_files
from cluster_tls.stackfile import Project

REPO = Path(__file__).resolve().parent.parent
PROJECT = Project.find(REPO)
STACKS = PROJECT.stacks()


def test_every_environment_has_a_stack_file():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_object_validates_against_upstream_schemas(stack, schemas):
    evaluation = evaluate(stack, PROJECT)
    objects = kubernetes_objects(evaluation)
    assert objects, f"stack {stack} renders no Kubernetes objects"
    for obj in objects:
        body = yaml.safe_load(dump_yaml(obj.body))
        assert schemas.object_errors(body, patch=obj.kind.endswith("Patch")) == [], obj.path


@pytest.mark.parametrize("stack", STACKS)
def test_every_helm_release_has_values_valid_for_its_chart(stack, schemas):
    for release in helm_releases(evaluate(stack, PROJECT)):
        if release.chart == "cert-manager":
            assert schemas.helm_values_errors("cert-manager", release.values) == []
        elif release.chart == "cilium":
            assert schemas.helm_values_errors("cilium", release.values, release.version) == []
        elif release.chart == "gateway":
            assert schemas.helm_values_errors("istio-gateway", release.values) == []
        elif release.chart == "cert-manager-webhook-dnspod":
            # upstream ships no values.schema.json: every key must exist in the chart's values.yaml
            assert schemas.unknown_values("cert-manager-webhook-dnspod", release.values) == []
        else:
            pytest.fail(f"no schema check for chart {release.chart}")


@pytest.mark.parametrize("stack", STACKS)
def test_rendering_twice_is_byte_identical(stack, tmp_path):
    assert main(["--project-dir", str(REPO), "render", "--stack", stack, "--out", str(tmp_path / "a")]) == 0
    assert main(["--project-dir", str(REPO), "render", "--stack", stack, "--out", str(tmp_path / "b")]) == 0
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert first and first == second


def test_render_writes_one_file_per_object_and_the_release_values(tmp_path):
    assert main(["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(tmp_path)]) == 0
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml"))
    assert files == [
        "helm/cert-manager/cert-manager/release.yaml",
        "helm/cert-manager/cert-manager/values.yaml",
        "manifests/_cluster/clusterissuer.cert-manager.io.dev-ca-selfsigned.yaml",
        "manifests/_cluster/clusterissuer.cert-manager.io.dev-ca.yaml",
        "manifests/_cluster/namespace.core.apps.yaml",
        "manifests/cert-manager/certificate.cert-manager.io.dev-ca.yaml",
        "manifests/istio-system/certificate.cert-manager.io.dev-web-tls.yaml",
        "manifests/istio-system/gateway.networking.istio.io.dev-web.yaml",
        "manifests/istio-system/virtualservice.networking.istio.io.dev-web.yaml",
        "outputs/cert-manager.yaml",
        "outputs/istio-gateway.yaml",
        "outputs/private-ca.yaml",
        "stack/outputs.yaml",
    ]
    release = yaml.safe_load((tmp_path / "helm/cert-manager/cert-manager/release.yaml").read_text())
    assert release == {
        "chart": "cert-manager",
        "name": "cert-manager",
        "namespace": "cert-manager",
        "repository": "https://charts.jetstack.io",
        "version": "v1.21.1",
    }


def _secret_program():
    password = pulumi.Output.secret("hunter2-plaintext")
    k8s.core.v1.Secret(
        "dnspod-credentials",
        metadata={"name": "dnspod-credentials", "namespace": "cert-manager"},
        string_data={"secretKey": password},
    )
    k8s.helm.v3.Release(
        "webhook",
        name="webhook",
        chart="cert-manager-webhook-dnspod",
        namespace="cert-manager",
        values={"clusterIssuer": {"secretKey": password}},
    )


def test_secrets_render_only_as_the_redaction_marker(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: cluster-tls\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text("config: {}\n")
    evaluation = evaluate("dev", Project.find(tmp_path), program=_secret_program)
    files = render_files(evaluation)
    text = "".join(files.values())
    assert "hunter2-plaintext" not in text
    secret = yaml.safe_load(files["manifests/cert-manager/secret.core.dnspod-credentials.yaml"])
    assert secret["stringData"] == {"secretKey": "[secret]"}
    # only the secret leaf: the rest of the values stays reviewable, as the engine keeps it (issue 19)
    assert files["helm/cert-manager/webhook/values.yaml"] == "clusterIssuer:\n  secretKey: '[secret]'\n"


def test_preview_lists_types_names_parents_objects_and_counts(capsys):
    assert main(["--project-dir", str(REPO), "preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "TYPE" in out and "PARENT" in out and "DETAILS" in out
    assert re.search(r"ClusterIssuer \(cert-manager.io/v1\) +private-ca-ca-issuer +private-ca +dev-ca", out)
    assert "cert-manager/dev-ca" in out
    assert "chart=cert-manager@v1.21.1" in out
    assert (
        "11 resources to create: 1 CertManagerInstall, 2 Certificate (cert-manager.io/v1), "
        "2 ClusterIssuer (cert-manager.io/v1), 1 Gateway (networking.istio.io/v1), 1 IstioHTTPSGateway, "
        "1 Namespace (core/v1), 1 SelfSignedCAChain, 1 VirtualService (networking.istio.io/v1), 1 helm Release" in out
    )


def _project_with(tmp_path, stack_yaml: str) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.broken.yaml").write_text(stack_yaml)
    return tmp_path


def test_preview_exits_non_zero_and_names_the_key_on_bad_config(tmp_path, capsys):
    project = _project_with(tmp_path, "config:\n  cluster-tls:privateCa:\n    scope: cluster\n    duration: 10y\n")
    assert main(["--project-dir", str(project), "preview", "--stack", "broken"]) == 2
    err = capsys.readouterr().err
    assert "stack 'broken' has invalid configuration" in err
    assert "cluster-tls:privateCa.duration: must be a Go duration" in err and "(got '10y')" in err


def test_unknown_stack_and_invalid_yaml_are_clear_errors(tmp_path, capsys):
    project = _project_with(tmp_path, "config: [unclosed\n")
    assert main(["--project-dir", str(project), "preview", "--stack", "prod"]) == 2
    assert "stack 'prod': no file" in capsys.readouterr().err
    assert main(["--project-dir", str(project), "preview", "--stack", "broken"]) == 2
    assert "is not valid YAML" in capsys.readouterr().err


def test_diff_against_a_rendered_revision_shows_the_change(tmp_path, capsys):
    before = tmp_path / "before"
    assert main(["--project-dir", str(REPO), "render", "--stack", "dev", "--out", str(before)]) == 0
    assert main(["--project-dir", str(REPO), "diff", "--stack", "dev", "--against-dir", str(before)]) == 0
    assert "no differences" in capsys.readouterr().out
    certificate = before / "manifests/cert-manager/certificate.cert-manager.io.dev-ca.yaml"
    certificate.write_text(certificate.read_text().replace("87600h", "43800h"))
    assert main(["--project-dir", str(REPO), "diff", "--stack", "dev", "--against-dir", str(before)]) == 1
    out = capsys.readouterr().out
    assert "~ manifests/cert-manager/certificate.cert-manager.io.dev-ca.yaml" in out
    assert '    spec.duration: "43800h" -> "87600h"' in out


def test_the_console_script_runs_the_dev_preview():
    script = Path(sys.executable).with_name("cluster-tls")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True, env=env).stdout
    assert "preview" in help_text and "render" in help_text
    result = subprocess.run([script, "preview", "--stack", "dev"], capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    assert "resources to create" in result.stdout


def test_evaluating_another_checkout_with_this_installs_code_is_flagged(tmp_path, capsys):
    project = _project_with(tmp_path, "config: {}\n")
    (project / "stacks" / "program.py").write_text((REPO / "stacks" / "program.py").read_text())
    (project / "stacks" / "Pulumi.dev.yaml").write_text((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    assert main(["--project-dir", str(project), "preview", "--stack", "dev"]) == 0
    assert f"run with PYTHONPATH={project}" in capsys.readouterr().err
