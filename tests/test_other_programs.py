"""Other people's programs: `--program`, the `cluster_tls.testing` helper, and the example under examples/."""

from __future__ import annotations

from pathlib import Path

import pulumi

from cluster_tls.cli import main
from cluster_tls.components import CertManagerInstall, SelfSignedCAChain
from cluster_tls.testing import evaluate_program, evaluate_project

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "platform"


def test_the_example_program_builds_a_gateway_per_service_from_its_stack_file():
    result = evaluate_project(EXAMPLE, stack="dev")
    gateways = result.objects("Gateway")
    assert sorted(g["metadata"]["name"] for g in gateways) == ["blog", "shop"]
    certificate = result.object("Certificate", "shop-tls", namespace="istio-system")
    assert certificate["spec"]["dnsNames"] == ["shop.apps.example.internal"]
    assert certificate["spec"]["issuerRef"] == {
        "name": "platform-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert result.outputs("shop")["urls"] == ["https://shop.apps.example.internal/"]


def test_a_function_with_inline_config():
    def program():
        config = pulumi.Config()
        install = CertManagerInstall("cm", {"namespace": config.require("ns")})
        SelfSignedCAChain("ca", {"scope": "cluster"}, context=install.cluster_context())

    result = evaluate_program(program, config={"project:ns": "pki"})
    assert result.object("Certificate", "ca-ca")["metadata"]["namespace"] == "pki"


def test_the_cli_previews_and_renders_another_program(tmp_path, capsys):
    assert main(["preview", "--program", str(EXAMPLE), "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "IstioHTTPSGateway" in out and "blog-gateway" in out
    assert main(["render", "--program", str(EXAMPLE), "--stack", "dev", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "manifests/istio-system/gateway.networking.istio.io.shop.yaml").is_file()


def test_a_module_function_program(tmp_path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "tiny_infra.py").write_text(
        "from cluster_tls.components import SelfSignedCAChain\n"
        "def build():\n    SelfSignedCAChain('tiny-ca', {'scope': 'cluster'})\n"
    )
    assert main(["--project-dir", str(tmp_path), "preview", "--program", "tiny_infra:build", "--stack", "dev"]) == 0
    assert "tiny-ca-ca-issuer" in capsys.readouterr().out
    assert main(["--project-dir", str(tmp_path), "preview", "--program", "tiny_infra:nope", "--stack", "dev"]) == 2
    assert "has no function 'nope'" in capsys.readouterr().err


def test_another_programs_unset_require_secret_stands_in_offline(tmp_path, capsys):
    """issue 31: another program's `config.require_secret` failed offline until the user wrote a `secure:` value;
    the package's own stacks stand in for the DNSPod credentials each operator sets. Now both do, with a warning;
    a key that is set is read as before, and a plain `require` of an unset key still fails."""
    (tmp_path / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  team:region: eu\n")
    (tmp_path / "team_infra.py").write_text(
        "import pulumi, pulumi_kubernetes as k8s\n"
        "from cluster_tls.components import DnspodWildcard\n"
        "def build():\n"
        "    config = pulumi.Config()\n"
        "    DnspodWildcard('dns', {'domain': 'example.com', 'email': 'ops@team.io', 'credentials': {\n"
        "        'secretId': config.require_secret('dnspodId'), 'secretKey': config.require_secret('dnspodKey')}})\n"
        "    pulumi.export('region', config.require('region'))\n"
    )
    args = ["--project-dir", str(tmp_path), "preview", "--program", "team_infra:build", "--stack", "dev"]
    assert main(args) in (0, 1)
    captured = capsys.readouterr()
    assert "config 'team:dnspodId' is not set: a secret stands in for it offline" in captured.out + captured.err
    assert "offline-placeholder" not in captured.out + captured.err
    out = tmp_path / "render"
    assert main([*args[:2], "render", *args[3:], "--out", str(out)]) == 0
    secret = next(out.rglob("secret.core.*dnspod*credentials*.yaml")).read_text()
    assert "secretId: '[secret]'" in secret and "placeholder" not in secret
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    assert main(args) == 2
    assert "team:region" in capsys.readouterr().err
