"""A chart mirror or OCI registry for every chart a stack installs (issue 27: air-gapped clusters, and clusters
that cannot reach the upstream chart repositories reliably, as the seeds' users in mainland China)."""

from __future__ import annotations

import pytest
import yaml

from cluster_tls.components import (
    CertManagerInstall,
    CertManagerInstallArgs,
    ChartMirror,
    IstioHTTPSGateway,
    IstioHTTPSGatewayArgs,
)
from cluster_tls.manifests import render_files
from cluster_tls.stackfile import Project, stack_entries
from cluster_tls.testing import evaluate_program
from tests.test_secret_canary import REPO

PROJECT = Project.find(REPO)
MIRROR = {"repository": "https://charts.mirror.internal/helm", "caFile": "/etc/ssl/mirror-ca.pem"}


def _releases(stack: str, extra: dict) -> dict[str, dict]:
    from cluster_tls.stacks.program import main

    config = {**stack_entries(PROJECT, stack), **extra}
    result = evaluate_program(main, project="cluster-tls", stack=stack, config=config)
    files = render_files(result.evaluation)
    return {p: yaml.safe_load(t) for p, t in files.items() if p.endswith("/release.yaml")}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_release_of_a_stack_comes_from_the_mirror_with_its_ca(stack):
    plain = _releases(stack, {})
    mirrored = _releases(stack, {"cluster-tls:charts": MIRROR})
    assert set(plain) == set(mirrored) and mirrored
    for path, release in mirrored.items():
        assert release["repository"] == MIRROR["repository"], path
        assert release["caFile"] == MIRROR["caFile"], path
        assert {k: v for k, v in release.items() if k not in ("repository", "caFile")} == {
            k: v for k, v in plain[path].items() if k != "repository"
        }
    assert all("caFile" not in r for r in plain.values())  # renders without a mirror are unchanged


def test_an_oci_mirror_names_each_chart_under_its_path():
    releases = _releases("staging", {"cluster-tls:charts": {"repository": "oci://registry.internal/charts"}})
    charts = sorted(r["chart"] for r in releases.values())
    assert charts == [
        "oci://registry.internal/charts/cert-manager",
        "oci://registry.internal/charts/cert-manager-webhook-dnspod",
        "oci://registry.internal/charts/cilium",
        "oci://registry.internal/charts/gateway",
    ]
    assert all(r["repository"] is None for r in releases.values())


def test_a_release_whose_repository_is_set_keeps_it():
    entries = stack_entries(PROJECT, "staging")
    dnspod = {**entries["cluster-tls:dnspod"], "webhook": {"repository": "https://imroc.internal/charts"}}
    releases = _releases("staging", {"cluster-tls:charts": MIRROR, "cluster-tls:dnspod": dnspod})
    webhook = releases["helm/cert-manager/cert-manager-webhook-dnspod/release.yaml"]
    assert webhook["repository"] == "https://imroc.internal/charts" and "caFile" not in webhook
    assert releases["helm/cert-manager/cert-manager/release.yaml"]["repository"] == MIRROR["repository"]


def test_the_mirror_is_set_once_for_the_stack():
    from cluster_tls.stacks.config import StackConfigError
    from cluster_tls.stacks.program import main

    config = {**stack_entries(PROJECT, "dev"), "cluster-tls:certManager": {"chartMirror": MIRROR}}
    message = r"certManager.chartMirror: the stack's chart mirror is cluster-tls:charts"
    with pytest.raises(StackConfigError, match=message):
        evaluate_program(main, project="cluster-tls", stack="dev", config=config)


def test_another_program_hands_the_mirror_from_cert_manager_to_every_component():
    def program():
        mirror = ChartMirror(repository="oci://registry.internal/charts")
        cert_manager = CertManagerInstall("cm", CertManagerInstallArgs(chart_mirror=mirror))
        IstioHTTPSGateway(
            "shop",
            IstioHTTPSGatewayArgs(
                name="shop",
                hosts=["shop.example.com"],
                backend={"service": "shop", "port": 80},
                issuer={"name": "ca", "kind": "ClusterIssuer", "type": "ca"},
                release={"install": True},
            ),
            context=cert_manager.cluster_context(),
        )

    files = render_files(evaluate_program(program).evaluation)
    charts = sorted(yaml.safe_load(t)["chart"] for p, t in files.items() if p.endswith("/release.yaml"))
    assert charts == ["oci://registry.internal/charts/cert-manager", "oci://registry.internal/charts/gateway"]
