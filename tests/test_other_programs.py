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
