"""The stack program: read this stack's typed config and build the components it enables.

`__main__.py` (the real `pulumi up`) and `cluster-tls preview/render` (the mock runtime) both call `main`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.certmanager.install import CertManagerInstall
from components.hubble import HubbleTLS
from components.selfsigned_ca import SelfSignedCAChain

from .config import StackConfig, load_stack_config


def _provider_opts(config: StackConfig) -> pulumi.ResourceOptions:
    settings = config.kubernetes
    if not settings.explicit:
        return pulumi.ResourceOptions()
    kubeconfig = settings.kubeconfig
    provider = k8s.Provider(
        "kubernetes",
        context=settings.context,
        kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
    )
    return pulumi.ResourceOptions(providers=[provider])


def build(config: StackConfig) -> dict[str, pulumi.Resource]:
    base = _provider_opts(config)
    built: dict[str, pulumi.Resource] = {}
    after_cert_manager: list[pulumi.Resource] = []
    if config.cert_manager.install:
        built["cert_manager"] = CertManagerInstall("cert-manager", config.cert_manager.install_args(), base)
        after_cert_manager = [built["cert_manager"]]
    ordered = pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=after_cert_manager))

    if config.private_ca:
        chain = SelfSignedCAChain("private-ca", config.private_ca, ordered)
        built["private_ca"] = chain
        pulumi.export("privateCaIssuer", chain.issuer)
        pulumi.export("privateCaSecret", {"name": chain.ca_secret_name, "namespace": chain.ca_secret_namespace})

    if config.hubble:
        chain = built.get("private_ca")
        uses_stack_ca = (
            chain is not None
            and config.hubble.issuer is not None
            and (config.hubble.issuer.manifest() == chain.issuer_ref.manifest())
        )
        hubble_opts = (
            pulumi.ResourceOptions.merge(ordered, pulumi.ResourceOptions(depends_on=[chain]))
            if uses_stack_ca
            else ordered
        )
        hubble = HubbleTLS("hubble", config.hubble, hubble_opts)
        built["hubble"] = hubble
        pulumi.export("hubbleCiliumValues", hubble.helm_values)
        pulumi.export("hubbleServerNames", hubble.server_name_pattern)
    return built


def main() -> dict[str, pulumi.Resource]:
    return build(load_stack_config())
