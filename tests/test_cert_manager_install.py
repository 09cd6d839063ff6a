"""CertManagerInstall: the Helm release, its values, and their validity against the chart's schema."""

import pytest

from cluster_tls.components.certmanager.install import CertManagerInstall, CertManagerInstallArgs
from cluster_tls.components.model import ArgsError


def install(args):
    def program():
        CertManagerInstall("cert-manager", args)

    return program


def test_release_is_pinned_named_and_waits_for_readiness(run):
    evaluation = run(install({"version": "v1.21.1", "prometheus": False}))
    release = evaluation.named("cert-manager-release")
    assert release.type == "kubernetes:helm.sh/v3:Release"
    assert release.parent == evaluation.named("cert-manager").urn
    inputs = release.inputs
    assert (inputs["name"], inputs["chart"], inputs["version"], inputs["namespace"]) == (
        "cert-manager",
        "cert-manager",
        "v1.21.1",
        "cert-manager",
    )
    assert inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert inputs["createNamespace"] is True
    assert inputs["skipAwait"] is False
    assert inputs["values"] == {
        "crds": {"enabled": True, "keep": True},
        "prometheus": {"enabled": False},
        "startupapicheck": {"enabled": True},
    }


def test_seed_002_dns01_self_check_flags_become_chart_values(run):
    evaluation = run(
        install(
            {
                "dns01RecursiveNameservers": ["119.29.29.29:53", "8.8.8.8:53"],
                "dns01RecursiveNameserversOnly": True,
                "extraArgs": ["--enable-certificate-owner-ref=true"],
            }
        )
    )
    values = evaluation.named("cert-manager-release").inputs["values"]
    assert values["dns01RecursiveNameservers"] == "119.29.29.29:53,8.8.8.8:53"
    assert values["dns01RecursiveNameserversOnly"] is True
    assert values["extraArgs"] == ["--enable-certificate-owner-ref=true"]


def test_old_charts_get_install_crds_instead_of_crds_enabled():
    values = CertManagerInstallArgs(version="v1.8.0").helm_values()
    assert values["installCRDs"] is True and "crds" not in values


def test_user_values_merge_but_the_typed_settings_win():
    values = CertManagerInstallArgs(
        values={"replicaCount": 2, "crds": {"enabled": False}, "webhook": {"hostNetwork": True}}
    ).helm_values()
    assert values["replicaCount"] == 2
    assert values["webhook"] == {"hostNetwork": True}
    assert values["crds"] == {"enabled": True, "keep": True}


@pytest.mark.parametrize(
    "args, message",
    [
        ({"version": "latest"}, "pinned chart version"),
        ({"version": "v1.5.0"}, "too old"),
        ({"dns01RecursiveNameserversOnly": True}, "needs dns01RecursiveNameservers"),
        ({"dns01RecursiveNameservers": ["8.8.8.8"]}, "host:port"),
        ({"extraArgs": ["--dns01-recursive-nameservers=1.1.1.1:53"]}, "set dns01RecursiveNameservers"),
        ({"extraArgs": ["v=2"]}, "starting with '--'"),
        ({"namespace": "Cert_Manager"}, "DNS-1123 label"),
        ({"repository": "http://charts.jetstack.io"}, "String should match pattern"),
    ],
)
def test_install_args_refuse_bad_settings(args, message):
    with pytest.raises(ArgsError, match=message):
        CertManagerInstallArgs.model_validate(args)


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"prometheus": False, "dns01RecursiveNameservers": ["1.1.1.1:53"], "dns01RecursiveNameserversOnly": True},
        {"clusterResourceNamespace": "security", "extraArgs": ["--v=2"], "values": {"replicaCount": 2}},
    ],
)
def test_values_validate_against_the_chart_schema(schemas, args):
    assert schemas.helm_values_errors("cert-manager", CertManagerInstallArgs.model_validate(args).helm_values()) == []


def test_the_chart_schema_catches_a_misspelled_user_value(schemas):
    values = CertManagerInstallArgs(values={"replicaCont": 2}).helm_values()
    assert any("replicaCont" in e for e in schemas.helm_values_errors("cert-manager", values))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v1.21.1", {"config": {"gatewayAPI": {"enabled": True}}}),
        ("v1.20.2", {"config": {"enableGatewayAPI": True}}),
        ("v1.15.0", {"config": {"enableGatewayAPI": True}}),
        ("v1.14.5", {"featureGates": "ExperimentalGatewayAPISupport=true"}),
    ],
)
def test_gateway_api_support_is_switched_on_the_way_the_pinned_version_reads_it(version, expected):
    # issue 19: config.gatewayAPI.enabled went to versions before v1.21, whose controllers decode their configuration
    # strictly and know only enableGatewayAPI (v1.15-v1.20) or the feature gate (before).
    values = CertManagerInstallArgs(version=version, gateway_api=True).helm_values()
    for key, want in expected.items():
        got = values[key]
        assert (got if isinstance(got, str) else {k: got[k] for k in want}) == want
    stale = {"gatewayAPI", "enableGatewayAPI"} - set(expected.get("config", {}))
    assert not stale & set(values.get("config") or {})
    assert CertManagerInstallArgs(version=version, values=values).ref().gateway_api


def test_the_feature_gate_joins_gates_the_user_set():
    args = CertManagerInstallArgs(
        version="v1.14.5", gateway_api=True, values={"featureGates": "AdditionalCertificateOutputFormats=true"}
    )
    assert (
        args.helm_values()["featureGates"]
        == "AdditionalCertificateOutputFormats=true,ExperimentalGatewayAPISupport=true"
    )


def test_the_controllers_service_account_name_is_the_charts_fullname_cut_to_63():
    # deploy/charts/cert-manager/templates/_helpers.tpl (v1.21.1) L13-35: "<release>-cert-manager" | trunc 63
    from cluster_tls.components.context import CertManagerRef

    assert (
        CertManagerRef(release_name="platform-cert-manager").effective_service_account_name == "platform-cert-manager"
    )
    assert CertManagerRef(release_name="cm").effective_service_account_name == "cm-cert-manager"
    long = CertManagerRef(release_name="a" * 53).effective_service_account_name
    assert long == "a" * 53 + "-cert-mana" and len(long) == 63
