"""An example of another Pulumi program using cluster-tls: cert-manager, a private CA, and one HTTPS gateway per
service, each issued by the CA. Config: `platform-example:domain` and `platform-example:services`."""

from typing import Any

import pulumi

from cluster_tls.components import (
    Backend,
    CertManagerInstall,
    CertManagerInstallArgs,
    IstioHTTPSGateway,
    IstioHTTPSGatewayArgs,
    SelfSignedCAChain,
    SelfSignedCAChainArgs,
)

config = pulumi.Config()
domain = config.require("domain")
services: list[dict[str, Any]] = config.require_object("services")

cert_manager = CertManagerInstall("cert-manager", CertManagerInstallArgs(version="v1.21.1"))
context = cert_manager.cluster_context()  # every component follows this cert-manager (namespaces) and checks collisions
after_cert_manager = pulumi.ResourceOptions(depends_on=[cert_manager])

ca = SelfSignedCAChain(
    "platform-ca",
    SelfSignedCAChainArgs(scope="cluster", ca_common_name=f"{domain} CA"),
    after_cert_manager,
    context=context,
)
for service in services:
    gateway = IstioHTTPSGateway(
        service["name"],
        IstioHTTPSGatewayArgs(
            name=service["name"],
            hosts=[f"{service['name']}.{domain}"],
            backend=Backend(service=service["name"], port=service["port"], namespace=service["namespace"]),
            issuer=ca.issuer,  # the CA's output: taken as its value, and the gateway comes after the CA
        ),
        after_cert_manager,
        context=context,
    )
    pulumi.export(f"{service['name']}Urls", gateway.urls)
