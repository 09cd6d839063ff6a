"""DnspodWildcard: objects, order, refusals and secrets on the mock runtime; the seed as config; real TLS."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest
import yaml

from cluster_tls.cli import evaluate
from cluster_tls.components.context import CertManagerRef, ClusterContext
from cluster_tls.components.dnspod import DnspodWildcard, DnspodWildcardArgs
from cluster_tls.components.model import ArgsError
from cluster_tls.components.plan import PlanError
from cluster_tls.manifests import dump_yaml, helm_releases, kubernetes_objects, render_files
from cluster_tls.mockrun import Evaluation
from cluster_tls.stackfile import Project
from tests.support.pki import CertManager
from tests.support.tls_loopback import OneShotServer, client_context, server_context, tls_request

REPO = Path(__file__).resolve().parent.parent
SEED_FILE = Path(__file__).parent / "seeds" / "Pulumi.seed-002.yaml"
CREDENTIALS = {"secretId": "AKID-canary-secret-id", "secretKey": "canary-secret-key-value"}
BASE = {
    "domain": "example.com",
    "email": "ops@example.com",
    "credentials": CREDENTIALS,
    "replication": {"namespaces": ["apps", "istio-system"]},
    "ingresses": [
        {"name": "shop", "namespace": "apps", "host": "shop.example.com", "backend": {"service": "shop", "port": 8080}}
    ],
}
PROTECTED = ClusterContext(cert_manager=CertManagerRef(dns01_recursive_nameservers_only=True), production=False)


def build(args, context=PROTECTED):
    def program():
        DnspodWildcard("dnspod", args, context=context)

    return program


def seed_project(tmp_path: Path) -> Project:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "stacks" / "Pulumi.seed-002.yaml")
    return Project.find(tmp_path)


def test_every_object_and_its_order(run, schemas):
    evaluation = run(build(BASE))
    objects = {o.source.name: o for o in kubernetes_objects(evaluation)}
    release = evaluation.named("dnspod-webhook")
    assert release.inputs["values"] == {
        "groupName": "acme.dnspod.com",
        "certManager": {"namespace": "cert-manager", "serviceAccountName": "cert-manager"},
        "namespace": "cert-manager",
        "clusterIssuer": {"enabled": False},
    }
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (
        "cert-manager-webhook-dnspod",
        "1.5.3",
        "cert-manager",
    )
    credentials = evaluation.named("dnspod-credentials")
    assert credentials.inputs["metadata"] == {"name": "dnspod-dnspod-credentials", "namespace": "cert-manager"}
    assert repr(credentials.inputs["stringData"]) == "[secret]"
    assert credentials.inputs["stringData"].reveal() == CREDENTIALS
    issuer = objects["dnspod-issuer"].body
    assert issuer["spec"] == {
        "acme": {
            "server": "https://acme-staging-v02.api.letsencrypt.org/directory",
            "email": "ops@example.com",
            "privateKeySecretRef": {"name": "dnspod-account-key"},
            "solvers": [
                {
                    "dns01": {
                        "webhook": {
                            "groupName": "acme.dnspod.com",
                            "solverName": "dnspod",
                            # dnspod/config.go (v1.5.3): ttl, recordLine, secretIdRef, secretKeyRef
                            "config": {
                                "ttl": 600,
                                "secretIdRef": {"name": "dnspod-dnspod-credentials", "key": "secretId"},
                                "secretKeyRef": {"name": "dnspod-dnspod-credentials", "key": "secretKey"},
                            },
                        }
                    }
                }
            ],
        }
    }
    certificate = objects["dnspod-certificate"].body
    assert certificate["metadata"]["namespace"] == "cert-manager"
    assert certificate["spec"]["dnsNames"] == ["*.example.com", "example.com"]
    reflector = "reflector.v1.k8s.emberstack.com/"
    assert certificate["spec"]["secretTemplate"] == {
        "annotations": {
            f"{reflector}reflection-allowed": "true",
            f"{reflector}reflection-allowed-namespaces": "apps,istio-system",
            f"{reflector}reflection-auto-enabled": "true",
            f"{reflector}reflection-auto-namespaces": "apps,istio-system",
        }
    }
    ingress = objects["dnspod-ingress-apps-shop"].body
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "wildcard-example-com"}]
    assert ingress["spec"]["ingressClassName"] == "nginx" and "annotations" not in ingress["metadata"]
    # cert-manager install -> webhook -> credentials -> issuer -> certificate -> consumers
    order = ["dnspod-webhook", "dnspod-credentials", "dnspod-issuer", "dnspod-certificate", "dnspod-ingress-apps-shop"]
    for before, after in zip(order, order[1:], strict=False):
        assert evaluation.named(before).urn in evaluation.named(after).explicit_dependencies, (before, after)
    for obj in objects.values():
        assert schemas.object_errors(yaml.safe_load(dump_yaml(obj.body))) == [], obj.path


def test_the_webhook_values_use_only_keys_of_the_chart(run, schemas):
    values = run(build(BASE)).named("dnspod-webhook").inputs["values"]
    assert schemas.unknown_values("cert-manager-webhook-dnspod", values) == []
    assert schemas.unknown_values("cert-manager-webhook-dnspod", {"clusterIssuer": {"secretKeyy": "x"}}) == [
        "clusterIssuer.secretKeyy"
    ]


def test_the_controller_service_account_and_namespace_follow_cert_manager(run):
    context = ClusterContext(
        cert_manager=CertManagerRef(namespace="security", release_name="cm", dns01_recursive_nameservers_only=True)
    )
    evaluation = run(build(BASE, context))
    values = evaluation.named("dnspod-webhook").inputs["values"]
    assert values["certManager"] == {"namespace": "security", "serviceAccountName": "cm-cert-manager"}
    assert evaluation.named("dnspod-credentials").inputs["metadata"]["namespace"] == "security"


def test_staging_is_the_default_outside_production_and_production_needs_a_yes(run):
    with pytest.raises(PlanError, match="Let's Encrypt production in a stack not marked production"):
        run(build({**BASE, "acmeServer": "letsencrypt"}))
    evaluation = run(build({**BASE, "acmeServer": "letsencrypt", "allowProductionAcme": True}))
    assert "acme-v02.api" in evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["server"]
    production = ClusterContext(cert_manager=PROTECTED.cert_manager, production=True)
    evaluation = run(build(BASE, production))
    assert evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["server"].startswith("https://acme-v02")


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"domain": "*.example.com"}, "give the domain without '*.'"),
        ({"domain": "localhost"}, "must be a registered domain"),
        ({"domain": "exa mple.com"}, "not a valid domain name: Codepoint U+0020 at position 4 not allowed"),
        ({"email": "not-an-email"}, "is not a valid e-mail address"),
        ({"privateKey": {"algorithm": "ECDSA", "size": 521}}, "Let's Encrypt accepts RSA 2048, 3072 or 4096"),
        ({"privateKey": {"algorithm": "Ed25519"}}, "Let's Encrypt accepts"),
        ({"http01": {"hosts": ["*.example.com"]}}, "a wildcard can only be validated through DNS-01"),
        ({"dnsZones": ["other.com"]}, "does not contain the domain 'example.com'"),
        (
            {
                "ingresses": [
                    {
                        "name": "x",
                        "namespace": "apps",
                        "host": "a.b.example.com",
                        "backend": {"service": "x", "port": 80},
                    }
                ]
            },
            "Ingress apps/x host 'a.b.example.com' is not covered by certificate 'wildcard-example-com' "
            "(*.example.com, example.com): a wildcard covers exactly one label",
        ),
        (
            {
                "ingresses": [
                    {
                        "name": "x",
                        "namespace": "apps",
                        "host": "shop.other.com",
                        "backend": {"service": "x", "port": 80},
                    }
                ]
            },
            "host 'shop.other.com' is not covered",
        ),
        ({"issuerKind": "Issuer"}, "issuerNamespace is required for an Issuer"),
        ({"credentials": {"secretId": "x"}}, "credentials.secretKey"),
    ],
)
def test_bad_arguments_are_refused_naming_field_and_value(overrides, message):
    with pytest.raises(ArgsError) as raised:
        DnspodWildcardArgs.model_validate({**BASE, **overrides})
    assert message in str(raised.value)


def test_an_idna_domain_becomes_punycode():
    args = DnspodWildcardArgs.model_validate({**BASE, "domain": "例子.测试", "ingresses": []})
    assert args.domain == "xn--fsqu00a.xn--0zwm56d"
    assert args.dns_names() == ["*.xn--fsqu00a.xn--0zwm56d", "xn--fsqu00a.xn--0zwm56d"]


def test_a_secret_read_where_it_is_not_made_available_is_refused(run):
    args = {**BASE, "replication": {"namespaces": ["istio-system"]}}
    evaluation = Evaluation()
    with pytest.raises(PlanError) as raised:
        run(build(args), evaluation=evaluation)
    assert str(raised.value) == (
        "Ingress apps/shop reads Secret 'wildcard-example-com' in namespace 'apps', where it is not made available: "
        "add 'apps' to replication.namespaces"
    )
    assert evaluation.registrations == []


def test_http01_for_single_hosts_is_a_second_solver_with_a_host_selector(run):
    evaluation = run(build({**BASE, "http01": {"hosts": ["legacy.example.com"]}}))
    solvers = evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["solvers"]
    assert solvers[1] == {
        "selector": {"dnsNames": ["legacy.example.com"]},
        "http01": {"ingress": {"ingressClassName": "nginx"}},
    }


@pytest.mark.parametrize(
    "mechanism,annotations",
    [
        ("replicator", {"replicator.v1.mittwald.de/replicate-to": "apps,istio-system"}),
        ("kubed", {"kubed.appscode.com/sync": "cert-manager-tls=wildcard-example-com"}),
    ],
)
def test_replicator_and_kubed_annotations(run, mechanism, annotations):
    args = {**BASE, "replication": {"mechanism": mechanism, "namespaces": ["apps", "istio-system"]}}
    evaluation = run(build(args))
    assert evaluation.named("dnspod-certificate").inputs["spec"]["secretTemplate"] == {"annotations": annotations}
    patches = [r for r in evaluation.registrations if r.type == "kubernetes:core/v1:NamespacePatch"]
    if mechanism == "kubed":
        assert sorted(p.inputs["metadata"]["name"] for p in patches) == ["apps", "istio-system"]
        assert all(p.inputs["metadata"]["labels"] == {"cert-manager-tls": "wildcard-example-com"} for p in patches)
        assert all(
            p.inputs["metadata"]["annotations"] == {"pulumi.com/patchFieldManager": "cluster-tls"} for p in patches
        )
        assert any("kubed" in log and "licence" in log for log in evaluation.logs)
        ingress = evaluation.named("dnspod-ingress-apps-shop")
        assert {p.urn for p in patches} <= ingress.explicit_dependencies
    else:
        assert patches == []


def test_per_namespace_issues_one_certificate_in_each_namespace(run):
    args = {**BASE, "replication": {"mechanism": "perNamespace", "namespaces": ["apps", "istio-system"]}}
    evaluation = run(build(args))
    certificates = sorted(
        (r.inputs["metadata"]["namespace"], r.inputs["spec"]["secretName"])
        for r in evaluation.registrations
        if r.type == "kubernetes:cert-manager.io/v1:Certificate"
    )
    assert certificates == [
        ("apps", "wildcard-example-com"),
        ("cert-manager", "wildcard-example-com"),
        ("istio-system", "wildcard-example-com"),
    ]
    assert all("secretTemplate" not in r.inputs["spec"] for r in evaluation.registrations if "Certificate" in r.type)


def test_gateway_api_listeners_reference_the_secret_in_the_gateways_namespace(run, schemas):
    args = {
        **BASE,
        "ingresses": [],
        "gateway": {
            "name": "web",
            "namespace": "apps",
            "routes": [
                {"name": "shop", "host": "shop.example.com", "backend": {"service": "shop", "port": 8080}},
                {"name": "home", "host": "example.com", "backend": {"service": "home", "port": 80}},
            ],
        },
    }
    evaluation = run(build(args))
    gateway = evaluation.named("dnspod-gateway").inputs
    https = [listener for listener in gateway["spec"]["listeners"] if listener["protocol"] == "HTTPS"]
    assert [(lst["hostname"], lst["tls"]["certificateRefs"]) for lst in https] == [
        ("example.com", [{"kind": "Secret", "name": "wildcard-example-com"}]),
        ("shop.example.com", [{"kind": "Secret", "name": "wildcard-example-com"}]),
    ]
    redirect = evaluation.named("dnspod-route-web-https-redirect").inputs["spec"]
    assert redirect["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]
    for reg in evaluation.registrations:
        if reg.type.startswith("kubernetes:gateway.networking.k8s.io"):
            assert schemas.object_errors(yaml.safe_load(yaml.safe_dump(reg.inputs))) == [], reg.name


def test_the_seed_as_stack_config_renders_the_seeds_objects(tmp_path, schemas):
    evaluation = evaluate("seed-002", seed_project(tmp_path))
    files = render_files(evaluation)
    assert yaml.safe_load(files["manifests/cert-manager/certificate.cert-manager.io.ipincloud-crt.yaml"]) == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": "ipincloud-crt",
            "namespace": "cert-manager",
            "annotations": {"pulumi.com/waitFor": "condition=Ready"},
        },
        "spec": {
            "secretName": "ipincloud-crt",
            "issuerRef": {"name": "dnspod", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "dnsNames": ["*.xxx.xxx"],
            "privateKey": {"algorithm": "RSA", "size": 2048},
            "secretTemplate": {"annotations": {"kubed.appscode.com/sync": "cert-manager-tls=ipincloud-crt"}},
        },
    }
    issuer = yaml.safe_load(files["manifests/_cluster/clusterissuer.cert-manager.io.dnspod.yaml"])
    assert issuer["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer["spec"]["acme"]["email"] == "scwang18@xxx.xxx"
    labelled = sorted(
        r.inputs["metadata"]["name"] for r in evaluation.registrations if r.type == "kubernetes:core/v1:NamespacePatch"
    )
    assert labelled == [
        "app",
        "default",
        "dev-app",
        "dev-infra",
        "dev-wly",
        "infra",
        "istio-system",
        "uat-app",
        "uat-wly",
    ]
    ingress = yaml.safe_load(files["manifests/infra/ingress.networking.k8s.io.ingress-wikijs.yaml"])
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "0"}
    assert ingress["spec"]["rules"][0]["host"] == "wiki.xxx.xxx"
    assert ingress["spec"]["tls"] == [{"hosts": ["wiki.xxx.xxx"], "secretName": "ipincloud-crt"}]
    values = yaml.safe_load(files["helm/cert-manager/cert-manager/values.yaml"])
    assert values["dns01RecursiveNameservers"] == "119.29.29.29:53,8.8.8.8:53"
    assert values["dns01RecursiveNameserversOnly"] is True
    text = "".join(files.values())
    assert (
        "offline-placeholder" not in text
        and "[secret]" in files["manifests/cert-manager/secret.core.dnspod-dnspod-credentials.yaml"]
    )
    for obj in kubernetes_objects(evaluation):
        assert schemas.object_errors(yaml.safe_load(dump_yaml(obj.body))) == [], obj.path
    assert [r.chart for r in helm_releases(evaluation)] == ["cert-manager", "cert-manager-webhook-dnspod"]


def test_the_seeds_own_host_mismatch_is_refused_naming_both_hosts(tmp_path):
    project = seed_project(tmp_path)
    stack = project.stack_file("seed-002")
    stack.write_text(
        stack.read_text().replace(
            "ingressClassName: nginx", "ingressClassName: nginx\n        tlsHosts: [wikijs.xxx.xxx]"
        )
    )
    from cluster_tls.cli import EvaluationError

    with pytest.raises(EvaluationError) as raised:
        evaluate("seed-002", project)
    assert "tls.hosts ['wikijs.xxx.xxx'] differ from the rule host 'wiki.xxx.xxx'" in str(raised.value)


def test_resolvers_are_switched_on_for_dns01_when_the_stack_left_them_unset(run):
    from cluster_tls.mockrun import run_program
    from cluster_tls.stackfile import config_from_entries
    from cluster_tls.stacks.program import main

    config, secret_keys = config_from_entries(
        {"cluster-tls:dnspod": {**BASE, "replication": {"namespaces": []}, "ingresses": []}}, "cluster-tls"
    )
    evaluation = run_program(main, config=config, secret_keys=["cluster-tls:dnspod"], offline=True)
    values = evaluation.named("cert-manager-release").inputs["values"]
    assert values["dns01RecursiveNameservers"] == "119.29.29.29:53,8.8.8.8:53"
    assert values["dns01RecursiveNameserversOnly"] is True
    assert not [log for log in evaluation.logs if "self-check" in log]


def test_a_client_trusting_the_root_reaches_wildcard_hosts_and_the_apex_only(run, tmp_path):
    # The test PKI stands in for Let's Encrypt: the rendered Certificate, issued from a test root.
    evaluation = run(build(BASE))
    certificate = evaluation.named("dnspod-certificate").inputs
    manager = CertManager()
    manager.apply({"kind": "ClusterIssuer", "metadata": {"name": "root"}, "spec": {"selfSigned": {}}})
    root = manager.apply(
        {
            "kind": "Certificate",
            "metadata": {"name": "le-root", "namespace": "cert-manager"},
            "spec": {
                "secretName": "le-root",
                "commonName": "stand-in root",
                "isCA": True,
                "issuerRef": {"name": "root", "kind": "ClusterIssuer"},
            },
        }
    )
    manager.apply({"kind": "ClusterIssuer", "metadata": {"name": "dnspod"}, "spec": {"ca": {"secretName": "le-root"}}})
    served = manager.apply(certificate).write(tmp_path / "served")
    trust = root.write(tmp_path / "root")["tls.crt"]
    for host in ("wiki.example.com", "example.com"):
        with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=None)) as server:
            assert tls_request(server.port, client_context(trust), host) == b"OK ping"
    for host in ("a.b.example.com", "wiki.example.org"):
        with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=None)) as server:
            with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
                tls_request(server.port, client_context(trust), host)


def test_a_route_to_another_namespace_gets_its_reference_grant(run, schemas):
    route = {
        "name": "shop",
        "host": "shop.example.com",
        "backend": {"service": "shop", "port": 80, "namespace": "shop"},
    }
    args = {**BASE, "ingresses": [], "gateway": {"name": "web", "namespace": "apps", "routes": [route]}}
    evaluation = run(build(args))
    grant = evaluation.named("dnspod-grant-shop").inputs
    assert grant["metadata"] == {"name": "apps-httproutes", "namespace": "shop"}
    assert grant["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}]
    assert schemas.object_errors(yaml.safe_load(yaml.safe_dump(grant))) == []


def test_a_gateway_also_declared_by_an_istio_gateway_component_is_a_collision(run):
    from cluster_tls.components.istio_gateway import IstioHTTPSGateway

    route = {"name": "shop", "host": "shop.example.com", "backend": {"service": "shop", "port": 80}}
    args = {**BASE, "ingresses": [], "gateway": {"name": "web", "namespace": "apps", "routes": [route]}}

    def program():
        DnspodWildcard("dnspod", args, context=PROTECTED)
        IstioHTTPSGateway(
            "gw",
            {
                "name": "web",
                "mode": "gatewayApi",
                "workloadNamespace": "apps",
                "hosts": ["shop.example.com"],
                "backend": {"service": "shop", "port": 80},
                "issuer": {"name": "le", "kind": "ClusterIssuer", "type": "acme"},
            },
            context=PROTECTED,
        )

    with pytest.raises(PlanError, match=r"Gateway\.gateway\.networking\.k8s\.io apps/web") as raised:
        run(program)
    assert "DnspodWildcard" in str(raised.value) and "IstioHTTPSGateway" in str(raised.value)


def test_a_program_that_says_nothing_of_its_cluster_gets_staging_and_a_self_check_warning(run):
    # ClusterContext's defaults: not production (Let's Encrypt staging) and cert-manager not known to self-check
    # DNS-01 against public resolvers (seed 002's pending challenges): both decide what a bare program gets.
    def program():
        DnspodWildcard("dnspod", BASE, context=ClusterContext())

    evaluation = run(program)
    server = evaluation.named("dnspod-issuer").inputs["spec"]["acme"]["server"]
    assert server == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert any("does not self-check DNS-01 against public resolvers" in log for log in evaluation.logs)


def _ca_pem(tmp_path: Path) -> str:
    from tests.e2e.certs import make_ca

    return make_ca(tmp_path, "private-acme").cert.read_text()


def test_a_private_acme_server_is_trusted_through_its_ca_bundle_and_is_not_lets_encrypt(run, schemas, tmp_path):
    # issue 27: step-ca, Vault or pebble beside Let's Encrypt; a stack not marked production may use one without
    # allowProductionAcme, which is about Let's Encrypt's production rate limits.
    pem = _ca_pem(tmp_path)
    args = {**BASE, "acmeServer": "https://acme.internal.example:9000/acme/acme/directory", "acmeCaBundle": pem}
    evaluation = run(build(args))
    issuer = next(o for o in kubernetes_objects(evaluation) if o.kind == "ClusterIssuer").body
    import base64

    assert base64.b64decode(issuer["spec"]["acme"]["caBundle"]).decode() == pem
    assert issuer["spec"]["acme"]["server"] == args["acmeServer"]
    assert schemas.object_errors(yaml.safe_load(dump_yaml(issuer))) == []


@pytest.mark.parametrize(
    "change,message",
    [
        ({"acmeCaBundle": "not a certificate"}, "acmeCaBundle: a private ACME server's CA"),
        ({"acmeServer": "letsencrypt"}, "acmeCaBundle is for a private ACME server"),
    ],
)
def test_a_ca_bundle_that_cannot_serve_is_refused(tmp_path, change, message):
    args = {**BASE, "acmeServer": "https://acme.internal.example/dir", "acmeCaBundle": _ca_pem(tmp_path), **change}
    if "acmeCaBundle: a private" in message:
        message = "acmeCaBundle must be PEM certificates"
    with pytest.raises(ArgsError, match=message):
        DnspodWildcardArgs.model_validate(args)


def test_lets_encrypt_production_is_still_refused_outside_production(run):
    with pytest.raises(PlanError, match="Let's Encrypt production in a stack not marked production"):
        run(build({**BASE, "acmeServer": "letsencrypt"}))


def test_wait_instead_of_self_check_replaces_the_self_check_on_cert_manager_1_21(run, schemas):
    context = ClusterContext(cert_manager=CertManagerRef(version="v1.21.1"))
    evaluation = run(build({**BASE, "waitInsteadOfSelfCheck": "30s"}, context))
    issuer = next(o for o in kubernetes_objects(evaluation) if o.kind == "ClusterIssuer").body
    assert issuer["spec"]["acme"]["solvers"][0]["waitInsteadOfSelfCheck"] == "30s"
    assert schemas.object_errors(yaml.safe_load(dump_yaml(issuer))) == []
    # no self-check, so no warning that it asks cluster-local DNS, and no resolver defaults for cert-manager
    assert not [line for line in evaluation.logs if "self-check" in line]
    assert DnspodWildcardArgs.model_validate({**BASE, "waitInsteadOfSelfCheck": "30s"}).cert_manager_defaults() == {}


def test_wait_instead_of_self_check_is_refused_where_cert_manager_lacks_it(run):
    context = ClusterContext(cert_manager=CertManagerRef(version="v1.20.2"))
    with pytest.raises(PlanError, match=r"waitInsteadOfSelfCheck needs cert-manager v1.21 or newer .* v1.20.2"):
        run(build({**BASE, "waitInsteadOfSelfCheck": "30s"}, context))
    with pytest.raises(ArgsError, match="must not be negative|Go duration"):
        DnspodWildcardArgs.model_validate({**BASE, "waitInsteadOfSelfCheck": "-5s"})
