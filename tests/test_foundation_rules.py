"""Rules the foundation enforces exactly as the systems behind it do (cert-manager v1.21 webhook, Helm, Go)."""

from __future__ import annotations

import pytest

from cluster_tls.components.certmanager.install import CertManagerInstall, CertManagerInstallArgs
from cluster_tls.components.certmanager.specs import CertificateSpec, IssuerRef, PrivateKeySpec, SecretTemplate
from cluster_tls.components.context import CertManagerRef
from cluster_tls.components.model import ArgsError, Spec
from cluster_tls.components.model import DnsLabel as DnsLabelType

CA = IssuerRef(name="ca", kind="ClusterIssuer", type="ca")


class _Label(Spec):
    value: DnsLabelType


def test_a_dns_label_is_at_most_63_characters():
    assert _Label(value="a" * 63).value == "a" * 63
    with pytest.raises(ArgsError, match="at most 63 characters"):
        _Label(value="a" * 64)


def test_rsa_and_ecdsa_size_zero_mean_the_default_as_in_the_webhook():
    assert PrivateKeySpec(algorithm="RSA", size=0).manifest() == {"algorithm": "RSA", "size": 0}
    assert PrivateKeySpec(algorithm="ECDSA", size=0).size == 0


def test_secret_template_refuses_cert_manager_annotations_but_the_one_the_webhook_allows():
    with pytest.raises(ArgsError, match=r"cert-manager.io/\* annotations are refused"):
        SecretTemplate(annotations={"cert-manager.io/issuer-name": "x"})
    assert SecretTemplate(annotations={"cert-manager.io/allow-direct-injection": "true"})


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("labels", {"bad key!": "x"}, "is not a Kubernetes qualified name"),
        ("labels", {"app": "a" * 64}, "label value"),
        ("labels", {"/name": "x"}, "the prefix before '/' must not be empty"),
        ("annotations", {"Example.COM/x": "y"}, "must be a DNS-1123 subdomain"),
        ("annotations", {"x" * 64: "y"}, "is not a Kubernetes qualified name"),
    ],
)
def test_secret_template_keys_are_validated_as_kubernetes_does(field, value, message):
    with pytest.raises(ArgsError, match=message):
        SecretTemplate(**{field: value})


def test_common_name_counts_bytes_not_characters():
    assert CertificateSpec(secret_name="s", issuer_ref=CA, common_name="a" * 64)
    with pytest.raises(ArgsError, match="is 66 bytes"):
        CertificateSpec(secret_name="s", issuer_ref=CA, common_name="证" * 22)


def test_renew_before_percentage_is_emitted_and_checked_like_the_webhook():
    spec = CertificateSpec(
        secret_name="s", issuer_ref=CA, common_name="x", duration="2160h", renew_before_percentage=25
    )
    assert spec.manifest()["renewBeforePercentage"] == 25
    with pytest.raises(ArgsError, match="not both"):
        CertificateSpec(secret_name="s", issuer_ref=CA, common_name="x", renew_before="1h", renew_before_percentage=25)
    with pytest.raises(ArgsError, match="less than 5m"):
        CertificateSpec(secret_name="s", issuer_ref=CA, common_name="x", duration="1h", renew_before_percentage=95)


def test_dns_over_https_resolvers_are_valid_recursive_nameservers():
    args = CertManagerInstallArgs(dns01_recursive_nameservers=["https://1.1.1.1/dns-query", "8.8.8.8:53"])
    assert args.helm_values()["dns01RecursiveNameservers"] == "https://1.1.1.1/dns-query,8.8.8.8:53"


def test_an_oci_chart_location_goes_into_chart_not_the_repository(run):
    def program():
        CertManagerInstall("cert-manager", {"repository": "oci://quay.io/jetstack/charts"})

    release = run(program).named("cert-manager-release").inputs
    assert release["chart"] == "oci://quay.io/jetstack/charts/cert-manager"
    assert "repositoryOpts" not in release


def test_one_cluster_resource_namespace_reaches_the_chart_and_the_context():
    args = CertManagerInstallArgs(
        values={"clusterResourceNamespace": "pki"}, extra_args=["--cluster-resource-namespace=pki"]
    )
    assert args.helm_values()["clusterResourceNamespace"] == "pki"
    assert args.ref().effective_cluster_resource_namespace == "pki"
    assert CertManagerInstallArgs(namespace="security").ref().effective_cluster_resource_namespace == "security"


@pytest.mark.parametrize(
    "release,account",
    [("cert-manager", "cert-manager"), ("platform-cert-manager", "platform-cert-manager"), ("cm", "cm-cert-manager")],
)
def test_the_controller_service_account_follows_the_charts_fullname(release, account):
    # deploy/charts/cert-manager/templates/_helpers.tpl (v1.21.1) L13-35
    assert CertManagerRef(release_name=release).effective_service_account_name == account


def test_the_webhook_on_the_host_network_moves_off_the_kubelet_port(schemas):
    values = CertManagerInstallArgs(webhook_host_network=True).helm_values()
    assert values["webhook"] == {"hostNetwork": True, "securePort": 10260}
    assert schemas.helm_values_errors("cert-manager", values) == []
