"""Stacks compose the components through each other's outputs (`issuerFrom`, `certificateFrom`), never retyped."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster_tls.cli import evaluate
from cluster_tls.mockrun import Evaluation, run_program
from cluster_tls.stackfile import Project, config_from_entries
from cluster_tls.stacks.config import StackConfigError
from cluster_tls.stacks.program import main

PROJECT = Project.find(Path(__file__).resolve().parent.parent)


def kinds(stack: str) -> set[str]:
    return {r.type for r in evaluate(stack, PROJECT).registrations}


def test_staging_serves_the_dnspod_wildcard_at_the_istio_gateway_and_waits_for_it():
    evaluation = evaluate("staging", PROJECT)
    gateway = evaluation.named("istio-gateway-gateway").inputs
    assert gateway["spec"]["servers"][0]["tls"] == {"mode": "SIMPLE", "credentialName": "wildcard-example-com"}
    assert gateway["metadata"]["namespace"] == "istio-system"
    istio = evaluation.named("istio-gateway")
    assert evaluation.named("dnspod-certificate").urn in istio.explicit_dependencies
    annotations = evaluation.named("dnspod-certificate").inputs["spec"]["secretTemplate"]["annotations"]
    assert "istio-system" in annotations["reflector.v1.k8s.emberstack.com/reflection-auto-namespaces"].split(",")
    issuer = evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["server"]
    assert issuer == "https://acme-staging-v02.api.letsencrypt.org/directory"


def test_dev_issues_everything_from_the_private_ca():
    evaluation = evaluate("dev", PROJECT)
    certificate = evaluation.named("istio-gateway-certificate").inputs["spec"]
    assert certificate["issuerRef"] == {"name": "dev-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert not [r for r in evaluation.registrations if "acme" in str(r.inputs.get("spec", ""))]


def test_prod_uses_lets_encrypt_production_for_the_wildcard():
    evaluation = evaluate("prod", PROJECT)
    assert evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["server"] == (
        "https://acme-v02.api.letsencrypt.org/directory"
    )


def test_what_each_environment_adds():
    dev, staging, prod = kinds("dev"), kinds("staging"), kinds("prod")
    assert staging - dev >= {"cluster-tls:index:DnspodWildcard", "cluster-tls:index:HubbleTLS"}
    assert prod - staging >= {"cluster-tls:index:WhizardTLS", "kubernetes:core/v1:ConfigMapPatch"}
    assert "cluster-tls:index:IstioHTTPSGateway" in dev & staging & prod


def _run(entries: dict) -> Evaluation:
    config, secret_keys = config_from_entries(entries, "cluster-tls")
    return run_program(main, config=config, secret_keys=secret_keys, offline=True)


GATEWAY = {"name": "web", "hosts": ["shop.example.com"], "backend": {"service": "shop", "port": 80}}


@pytest.mark.parametrize(
    "entries,message",
    [
        (
            {"cluster-tls:istioGateway": {**GATEWAY, "issuerFrom": "privateCa"}},
            "cluster-tls:istioGateway: issuerFrom 'privateCa': no component of this stack before this one provides "
            "issuer (those that do: none)",
        ),
        (
            {
                "cluster-tls:namespaces": {"existing": ["istio-system", "apps"]},
                "cluster-tls:dnspod": {
                    "domain": "example.com",
                    "email": "a@example.com",
                    "replication": {"namespaces": ["apps"]},
                },
                "cluster-tls:istioGateway": {**GATEWAY, "certificateFrom": "dnspod"},
            },
            "certificateFrom 'dnspod': Secret 'wildcard-example-com' is not made available in 'istio-system'",
        ),
        (
            {
                "cluster-tls:namespaces": {"existing": ["istio-system"]},
                "cluster-tls:dnspod": {
                    "domain": "example.com",
                    "email": "a@example.com",
                    "replication": {"namespaces": ["istio-system"]},
                },
                "cluster-tls:istioGateway": {**GATEWAY, "hosts": ["a.b.example.com"], "certificateFrom": "dnspod"},
            },
            "host 'a.b.example.com' is not covered by the certificate's names ['*.example.com', 'example.com']",
        ),
    ],
)
def test_links_that_cannot_work_are_refused_naming_the_link(entries, message):
    evaluation = Evaluation()
    config, secret_keys = config_from_entries(entries, "cluster-tls")
    with pytest.raises(StackConfigError) as raised:
        run_program(main, config=config, secret_keys=secret_keys, offline=True, evaluation=evaluation)
    assert message in str(raised.value)
    assert evaluation.registrations == []


def test_a_linked_issuer_orders_its_consumer_after_the_provider():
    evaluation = _run(
        {
            "cluster-tls:namespaces": {"existing": ["istio-system"]},
            "cluster-tls:privateCa": {"scope": "cluster"},
            "cluster-tls:istioGateway": {**GATEWAY, "issuerFrom": "privateCa"},
        }
    )
    assert evaluation.named("istio-gateway-certificate").inputs["spec"]["issuerRef"]["name"] == "private-ca"
    assert evaluation.named("private-ca-ca-issuer").urn in evaluation.named("istio-gateway").explicit_dependencies
