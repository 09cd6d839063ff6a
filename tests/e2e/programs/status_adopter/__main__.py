"""An adopter's program: the package's CA chain, with objects written by hand beside it, some of them wrong in
ways only the live cluster shows (tests/e2e/test_status.py breaks the rest on the cluster):

- a gateway in istio-system reads `shop-tls`, which its Certificate writes in `apps`;
- `web` reads a copy of `catalog-tls` a replicator makes (the test writes the copy by hand, then renews the source);
- a Certificate renewed seconds after it is issued (renewBefore nearly its duration);
- a Certificate whose issuer exists nowhere;
- a CA issuer naming a key pair Secret that does not exist, and a Certificate it is to issue.
"""

import pulumi
import pulumi_kubernetes as k8s

from cluster_tls.components import SelfSignedCAChain, SelfSignedCAChainArgs

ca = SelfSignedCAChain(
    "adopter-ca",
    SelfSignedCAChainArgs(
        scope="cluster",
        selfSignedIssuerName="adopter-selfsigned",
        caCertificateName="adopter-ca",
        caIssuerName="adopter-ca",
        caCommonName="adopter CA",
    ),
)
namespaces = [k8s.core.v1.Namespace(name, metadata={"name": name}) for name in ("apps", "web")]
after = pulumi.ResourceOptions(depends_on=[ca, *namespaces])
ISSUER = {"name": "adopter-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def certificate(name: str, namespace: str, spec: dict) -> None:
    k8s.apiextensions.CustomResource(
        f"{namespace}-{name}",
        api_version="cert-manager.io/v1",
        kind="Certificate",
        metadata={"name": name, "namespace": namespace},
        spec={"issuerRef": ISSUER, **spec},
        opts=after,
    )


certificate("shop", "apps", {"secretName": "shop-tls", "dnsNames": ["shop.example.internal"]})
k8s.apiextensions.CustomResource(
    "shop-gateway",
    api_version="networking.istio.io/v1",
    kind="Gateway",
    metadata={"name": "shop", "namespace": "istio-system"},
    spec={
        "selector": {"istio": "ingressgateway"},
        "servers": [
            {
                "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                "hosts": ["shop.example.internal"],
                "tls": {"mode": "SIMPLE", "credentialName": "shop-tls"},
            }
        ],
    },
    opts=after,
)
certificate(
    "catalog",
    "apps",
    {
        "secretName": "catalog-tls",
        "dnsNames": ["catalog.example.internal"],
        "secretTemplate": {"annotations": {"replicator.v1.mittwald.de/replicate-to": "web"}},
    },
)
k8s.networking.v1.Ingress(
    "catalog",
    # no ingress controller here to give it an address, which Pulumi would wait for
    metadata={"name": "catalog", "namespace": "web", "annotations": {"pulumi.com/skipAwait": "true"}},
    spec={
        "tls": [{"hosts": ["catalog.example.internal"], "secretName": "catalog-tls"}],
        "rules": [{"host": "catalog.example.internal"}],
    },
    opts=after,
)
certificate(
    "churn",
    "apps",
    {"secretName": "churn-tls", "dnsNames": ["churn.example.internal"], "duration": "1h", "renewBefore": "59m50s"},
)
certificate(
    "orphan",
    "apps",
    {
        "secretName": "orphan-tls",
        "dnsNames": ["orphan.example.internal"],
        "issuerRef": {"name": "nowhere", "kind": "Issuer", "group": "cert-manager.io"},
    },
)
k8s.apiextensions.CustomResource(
    "broken-ca-issuer",
    api_version="cert-manager.io/v1",
    kind="ClusterIssuer",
    metadata={"name": "adopter-broken-ca"},
    spec={"ca": {"secretName": "no-such-ca-keypair"}},
)
certificate(
    "broken",
    "apps",
    {
        "secretName": "broken-tls",
        "dnsNames": ["broken.example.internal"],
        "issuerRef": {"name": "adopter-broken-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    },
)
