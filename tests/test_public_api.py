"""Other Pulumi programs import the components; outputs of one are accepted by another."""

import pulumi

from cluster_tls.components import HubbleTLS, HubbleTLSArgs, SelfSignedCAChain, SelfSignedCAChainArgs


def test_a_chains_issuer_ref_is_accepted_by_hubble_and_orders_it(run):
    def program():
        ca = SelfSignedCAChain("platform-ca", SelfSignedCAChainArgs(scope="cluster"))
        HubbleTLS(
            "hubble",
            HubbleTLSArgs(cilium_version="1.18.12", issuer=ca.issuer_ref, release={}),
            pulumi.ResourceOptions(depends_on=[ca]),
        )

    evaluation = run(program)
    release = evaluation.named("hubble-cilium")
    assert release.inputs["values"]["hubble"]["tls"]["auto"]["certManagerIssuerRef"] == {
        "name": "platform-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert evaluation.named("platform-ca-ca-issuer").urn in release.explicit_dependencies
