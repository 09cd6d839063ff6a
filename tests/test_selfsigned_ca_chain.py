"""SelfSignedCAChain on the mock runtime: exact objects, topology, parents, ordering and outputs."""

import pulumi
import pytest

from cluster_tls.components.certmanager.install import CertManagerInstall, CertManagerInstallArgs
from cluster_tls.components.context import ClusterContext
from cluster_tls.components.model import ArgsError
from cluster_tls.components.plan import PlanError
from cluster_tls.components.selfsigned_ca import SelfSignedCAChain, SelfSignedCAChainArgs
from cluster_tls.mockrun import Evaluation

CR = "kubernetes:cert-manager.io/v1:"


def build_chain(args, *, with_install=False, context=None):
    built = {}

    def program():
        opts = None
        if with_install:
            built["install"] = CertManagerInstall("cert-manager", CertManagerInstallArgs())
            opts = pulumi.ResourceOptions(depends_on=[built["install"]])
        built["chain"] = SelfSignedCAChain("private-ca", args, opts, context=context)

    return program, built


def test_cluster_chain_registers_three_children_with_pinned_names(run):
    program, _ = build_chain({"scope": "cluster"})
    evaluation = run(program)
    chain = evaluation.named("private-ca")
    assert chain.type == "cluster-tls:index:SelfSignedCAChain"
    assert sorted((r.type, r.name) for r in evaluation.children_of(chain.urn)) == [
        (CR + "Certificate", "private-ca-ca-certificate"),
        (CR + "ClusterIssuer", "private-ca-ca-issuer"),
        (CR + "ClusterIssuer", "private-ca-selfsigned-issuer"),
    ]


def test_cluster_chain_objects_are_exact(run):
    program, _ = build_chain({"scope": "cluster", "organizations": ["example"]})
    evaluation = run(program)
    assert evaluation.named("private-ca-selfsigned-issuer").inputs == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "private-ca-selfsigned"},
        "spec": {"selfSigned": {}},
    }
    assert evaluation.named("private-ca-ca-certificate").inputs == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": "private-ca-ca",
            "namespace": "cert-manager",
            "annotations": {"pulumi.com/waitFor": "condition=Ready"},
        },
        "spec": {
            "secretName": "private-ca-ca",
            "issuerRef": {"name": "private-ca-selfsigned", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "commonName": "private-ca-ca",
            "isCA": True,
            "duration": "87600h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never"},
            "subject": {"organizations": ["example"]},
        },
    }
    assert evaluation.named("private-ca-ca-issuer").inputs == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "private-ca"},
        "spec": {"ca": {"secretName": "private-ca-ca"}},
    }


def test_seed_001_names_are_expressible(run):
    program, built = build_chain(
        {
            "scope": "cluster",
            "selfSignedIssuerName": "selfsigned-cluster-issuer",
            "caCertificateName": "my-selfsigned-ca",
            "caSecretName": "root-secret",
            "caIssuerName": "my-ca-issuer",
            "privateKey": {"algorithm": "ECDSA", "size": 256},
        }
    )
    evaluation = run(program)
    cert = evaluation.named("private-ca-ca-certificate").inputs
    assert cert["metadata"]["name"] == "my-selfsigned-ca"
    assert cert["metadata"]["namespace"] == "cert-manager"
    assert cert["spec"]["secretName"] == "root-secret"
    assert cert["spec"]["commonName"] == "my-selfsigned-ca"
    assert cert["spec"]["issuerRef"]["name"] == "selfsigned-cluster-issuer"
    assert evaluation.named("private-ca-ca-issuer").inputs["spec"] == {"ca": {"secretName": "root-secret"}}
    assert built["chain"].issuer_ref.manifest() == {
        "name": "my-ca-issuer",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }


def test_seed_000_namespaced_chain_names_are_expressible(run):
    program, built = build_chain(
        {
            "namespace": "kubesphere-monitoring-system",
            "selfSignedIssuerName": "selfsigned",
            "caCertificateName": "whizard-tls-certs",
            "caSecretName": "whizard-tls-assets",
            "caIssuerName": "whizard-tls-assets",
            "caCommonName": "whizard-tls-assets",
            "organizations": ["cluster.local", "cert-manager"],
            "duration": "87600h",
        }
    )
    evaluation = run(program)
    for child in ("private-ca-selfsigned-issuer", "private-ca-ca-issuer"):
        inputs = evaluation.named(child).inputs
        assert inputs["kind"] == "Issuer"
        assert inputs["metadata"]["namespace"] == "kubesphere-monitoring-system"
    cert = evaluation.named("private-ca-ca-certificate").inputs
    assert cert["spec"]["issuerRef"] == {"name": "selfsigned", "kind": "Issuer", "group": "cert-manager.io"}
    assert cert["spec"]["subject"] == {"organizations": ["cluster.local", "cert-manager"]}
    assert built["chain"].issuer_ref.namespace == "kubesphere-monitoring-system"
    assert built["chain"].ca_bundle.manifest() == {
        "secretName": "whizard-tls-assets",
        "namespace": "kubesphere-monitoring-system",
        "key": "ca.crt",
    }


def test_every_child_depends_on_the_cert_manager_install_and_the_chain_is_ordered(run):
    program, _ = build_chain({"scope": "cluster"}, with_install=True)
    evaluation = run(program)
    release = evaluation.named("cert-manager-release")
    by_name = {r.name: r for r in evaluation.registrations}
    for child in ("private-ca-selfsigned-issuer", "private-ca-ca-certificate", "private-ca-ca-issuer"):
        assert release.urn in by_name[child].explicit_dependencies, child
    assert by_name["private-ca-selfsigned-issuer"].urn in by_name["private-ca-ca-certificate"].dependencies
    assert by_name["private-ca-ca-certificate"].urn in by_name["private-ca-ca-issuer"].dependencies


def test_outputs_are_registered_and_name_the_ca_issuer_and_bundle(run):
    program, _ = build_chain({"scope": "cluster"})
    evaluation = run(program)
    assert evaluation.outputs[evaluation.named("private-ca").urn] == {
        "issuer": {"name": "private-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "ca_secret_name": "private-ca-ca",
        "ca_secret_namespace": "cert-manager",
        "ca_key": "ca.crt",
    }


def test_cluster_chain_refuses_a_ca_secret_outside_the_cluster_resource_namespace(run):
    program, _ = build_chain({"scope": "cluster", "namespace": "default"})
    evaluation = Evaluation()
    with pytest.raises(PlanError, match="cluster-resource namespace 'cert-manager'"):
        run(program, evaluation=evaluation)
    assert evaluation.registrations == []


def test_a_chain_whose_issuer_names_collide_is_refused_naming_both_roles(run):
    program, _ = build_chain({"scope": "cluster", "selfSignedIssuerName": "ca", "caIssuerName": "ca"})
    evaluation = Evaluation()
    with pytest.raises(PlanError) as raised:
        run(program, evaluation=evaluation)
    assert str(raised.value) == (
        "ClusterIssuer ca would be written twice: by SelfSignedCAChain 'private-ca' (selfSigned issuer) "
        "and by SelfSignedCAChain 'private-ca' (CA issuer)"
    )
    assert evaluation.registrations == []


def test_two_chains_of_one_program_writing_one_secret_are_refused_before_the_second_registers(run):
    context = ClusterContext()

    def program():
        SelfSignedCAChain("one", {"scope": "cluster", "caSecretName": "root"}, context=context)
        SelfSignedCAChain("two", {"scope": "cluster", "caSecretName": "root"}, context=context)

    evaluation = Evaluation()
    with pytest.raises(PlanError, match="Secret cert-manager/root would be written twice: by SelfSignedCAChain 'one'"):
        run(program, evaluation=evaluation)
    assert not [r for r in evaluation.registrations if r.name.startswith("two")]


def test_namespaced_chain_requires_a_namespace():
    with pytest.raises(ArgsError, match="namespace is required when scope is 'namespaced'"):
        SelfSignedCAChainArgs()


def test_a_custom_cluster_resource_namespace_moves_the_ca_secret(run):
    install = CertManagerInstallArgs(cluster_resource_namespace="security")
    program, built = build_chain({"scope": "cluster"}, context=ClusterContext(cert_manager=install.ref()))
    evaluation = run(program)
    assert evaluation.named("private-ca-ca-certificate").inputs["metadata"]["namespace"] == "security"
    assert built["chain"].ca_bundle.namespace == "security"


def test_truststores_get_a_password_generated_once_and_kept_secret(run, schemas):
    program, _ = build_chain({"scope": "cluster", "caSecretName": "root-secret", "truststores": {"pkcs12": True}})
    evaluation = run(program)
    password = evaluation.named("private-ca-keystore-password-password")
    assert password.type == "random:index/randomPassword:RandomPassword"
    assert password.inputs["length"] == 32 and password.inputs["special"] is False
    secret = evaluation.named("private-ca-keystore-password")
    assert secret.inputs["metadata"] == {"name": "root-secret-keystore-password", "namespace": "cert-manager"}
    assert repr(secret.inputs["stringData"]) == "[secret]"
    assert password.urn in secret.dependencies
    certificate = evaluation.named("private-ca-ca-certificate")
    ref = {"name": "root-secret-keystore-password", "key": "password"}
    assert certificate.inputs["spec"]["keystores"] == {
        "jks": {"create": True, "passwordSecretRef": ref},
        "pkcs12": {"create": True, "passwordSecretRef": ref, "profile": "Modern2023"},
    }
    # cert-manager reads the password when it writes the keystores: the Secret comes first.
    assert secret.urn in certificate.explicit_dependencies
    assert schemas.object_errors(certificate.inputs) == []
    assert schemas.object_errors(secret.inputs | {"stringData": {"password": "x"}}) == []
    outputs = evaluation.outputs[evaluation.named("private-ca").urn]
    assert outputs["truststore"] == {
        "secret": "root-secret",
        "namespace": "cert-manager",
        "keys": ["truststore.jks", "truststore.p12"],
        "password_secret": "root-secret-keystore-password",
        "password_key": "password",
    }


def test_without_truststores_no_password_is_generated(run):
    program, _ = build_chain({"scope": "cluster"})
    evaluation = run(program)
    assert not [r for r in evaluation.registrations if r.type.startswith("random:")]
    assert "keystores" not in evaluation.named("private-ca-ca-certificate").inputs["spec"]


def test_two_chains_without_a_context_share_the_programs_ledger(run):
    # issue 20: collisions were found only when the program passed `context=`.
    def program():
        SelfSignedCAChain("one", {"scope": "cluster", "caIssuerName": "platform-ca"})
        SelfSignedCAChain("two", {"scope": "cluster", "caIssuerName": "platform-ca"})

    evaluation = Evaluation()
    with pytest.raises(PlanError, match="ClusterIssuer platform-ca would be written twice: by SelfSignedCAChain 'one'"):
        run(program, evaluation=evaluation)
    assert not [r for r in evaluation.registrations if r.name.startswith("two")]

    def two_clusters():  # each cluster's own context: the same names in two clusters are no collision
        SelfSignedCAChain("one", {"scope": "cluster", "caIssuerName": "platform-ca"}, context=ClusterContext())
        SelfSignedCAChain("two", {"scope": "cluster", "caIssuerName": "platform-ca"}, context=ClusterContext())

    assert run(two_clusters).registrations
    # a later program starts with an empty ledger: "one" of the failed program above is not held against it
    assert run(lambda: SelfSignedCAChain("one", {"scope": "cluster", "caIssuerName": "platform-ca"})).registrations
