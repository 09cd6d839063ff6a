"""cluster-tls components: typed Pulumi ComponentResources for TLS on Kubernetes with cert-manager.

Every model an Args field takes is exported here too, so that a typed program builds its args without dicts.
"""

from .certmanager.install import CertManagerInstall, CertManagerInstallArgs
from .certmanager.specs import CertificateSpec, IssuerRef, KeystoreSpec, PrivateKeySpec, SecretTemplate, X509Subject
from .context import CertManagerRef, ClusterContext
from .dnspod import DnspodCredentials, DnspodWebhook, DnspodWildcard, DnspodWildcardArgs, Http01Hosts
from .helm import ChartMirror
from .hubble import (
    CiliumReleaseArgs,
    HubbleMetricsTLS,
    HubbleRelayTLS,
    HubbleTLS,
    HubbleTLSArgs,
    MetricsScraperCertificate,
)
from .istio_gateway import ExistingSecret, Exposure, GatewayRelease, IstioHTTPSGateway, IstioHTTPSGatewayArgs
from .model import ArgsError
from .plan import PlanError
from .replication import SecretReplication
from .routes import Backend, GatewaySpec, HttpRoute, IngressRoute
from .selfsigned_ca import CABundleRef, SelfSignedCAChain, SelfSignedCAChainArgs, TruststoreSettings
from .whizard import KubeSphereSettings, WhizardComponents, WhizardTLS, WhizardTLSArgs

__all__ = [
    "ArgsError",
    "Backend",
    "CABundleRef",
    "CertManagerInstall",
    "CertManagerInstallArgs",
    "CertManagerRef",
    "CertificateSpec",
    "ChartMirror",
    "CiliumReleaseArgs",
    "ClusterContext",
    "DnspodCredentials",
    "DnspodWebhook",
    "DnspodWildcard",
    "DnspodWildcardArgs",
    "ExistingSecret",
    "Exposure",
    "GatewayRelease",
    "GatewaySpec",
    "Http01Hosts",
    "HttpRoute",
    "HubbleMetricsTLS",
    "HubbleRelayTLS",
    "HubbleTLS",
    "HubbleTLSArgs",
    "IngressRoute",
    "IssuerRef",
    "IstioHTTPSGateway",
    "IstioHTTPSGatewayArgs",
    "KeystoreSpec",
    "KubeSphereSettings",
    "MetricsScraperCertificate",
    "PlanError",
    "PrivateKeySpec",
    "SecretReplication",
    "SecretTemplate",
    "SelfSignedCAChain",
    "SelfSignedCAChainArgs",
    "TruststoreSettings",
    "WhizardComponents",
    "WhizardTLS",
    "WhizardTLSArgs",
    "X509Subject",
]
