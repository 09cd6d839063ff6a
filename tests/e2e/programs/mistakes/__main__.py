"""Objects a user writes by hand beside (or instead of) the components, with two mistakes:

- a leaf Certificate issued straight from a selfSigned issuer (C1: no chain to trust, every client must pin it);
- a Certificate whose issuerRef names an issuer that exists nowhere (B1).
"""

import pulumi_kubernetes as k8s

selfsigned = k8s.apiextensions.CustomResource(
    "selfsigned",
    api_version="cert-manager.io/v1",
    kind="ClusterIssuer",
    metadata={"name": "e2e-selfsigned"},
    spec={"selfSigned": {}},
)
k8s.apiextensions.CustomResource(
    "leaf-from-selfsigned",
    api_version="cert-manager.io/v1",
    kind="Certificate",
    metadata={"name": "web", "namespace": "default"},
    spec={
        "secretName": "web-tls",
        "dnsNames": ["web.example.internal"],
        "issuerRef": {"name": "e2e-selfsigned", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    },
)
k8s.apiextensions.CustomResource(
    "dangling-issuer",
    api_version="cert-manager.io/v1",
    kind="Certificate",
    metadata={"name": "api", "namespace": "default"},
    spec={
        "secretName": "api-tls",
        "dnsNames": ["api.example.internal"],
        "issuerRef": {"name": "nowhere", "kind": "Issuer", "group": "cert-manager.io"},
    },
)
