"""cluster-tls components: typed Pulumi ComponentResources for TLS on Kubernetes with cert-manager."""

from .certmanager.install import CertManagerInstall, CertManagerInstallArgs
from .certmanager.specs import CertificateSpec, IssuerRef, PrivateKeySpec
from .context import CertManagerRef, ClusterContext
from .dnspod import DnspodWildcard, DnspodWildcardArgs
from .hubble import HubbleTLS, HubbleTLSArgs
from .istio_gateway import IstioHTTPSGateway, IstioHTTPSGatewayArgs
from .plan import PlanError
from .selfsigned_ca import CABundleRef, SelfSignedCAChain, SelfSignedCAChainArgs
from .whizard import WhizardTLS, WhizardTLSArgs

__all__ = [
    "CABundleRef",
    "CertManagerInstall",
    "CertManagerInstallArgs",
    "CertManagerRef",
    "CertificateSpec",
    "ClusterContext",
    "DnspodWildcard",
    "DnspodWildcardArgs",
    "HubbleTLS",
    "HubbleTLSArgs",
    "IssuerRef",
    "IstioHTTPSGateway",
    "IstioHTTPSGatewayArgs",
    "PlanError",
    "PrivateKeySpec",
    "SelfSignedCAChain",
    "SelfSignedCAChainArgs",
    "WhizardTLS",
    "WhizardTLSArgs",
]
