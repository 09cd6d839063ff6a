"""cluster-tls components: typed Pulumi ComponentResources for TLS on Kubernetes with cert-manager."""

from .certmanager.install import CertManagerInstall, CertManagerInstallArgs
from .certmanager.specs import CertificateSpec, IssuerRef, PrivateKeySpec
from .hubble import HubbleTLS, HubbleTLSArgs
from .selfsigned_ca import CABundleRef, SelfSignedCAChain, SelfSignedCAChainArgs

__all__ = [
    "CABundleRef",
    "CertManagerInstall",
    "CertManagerInstallArgs",
    "CertificateSpec",
    "HubbleTLS",
    "HubbleTLSArgs",
    "IssuerRef",
    "PrivateKeySpec",
    "SelfSignedCAChain",
    "SelfSignedCAChainArgs",
]
