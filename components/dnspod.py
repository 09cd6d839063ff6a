"""DnspodWildcard: a Let's Encrypt wildcard certificate through DNSPod DNS-01, shared across namespaces.

Seed 002 (KubeSphere ingress with a Let's Encrypt wildcard) done as code: the imroc DNSPod webhook next to
cert-manager, the Tencent Cloud API credentials as a Pulumi-managed Secret (the seed pasted them on a helm
command line), an ACME issuer whose DNS-01 solver is that webhook, one wildcard Certificate, its Secret made
available in other namespaces, and the Ingresses or Gateway API routes that serve it.
Webhook facts: imroc/cert-manager-webhook-dnspod v1.5.3 (charts/cert-manager-webhook-dnspod/values.yaml,
templates/_helpers.tpl, templates/rbac.yaml, templates/pki.yaml, dnspod/config.go); ../shared/schemas/NOTES.md §6.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from cryptography import x509
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, model_validator

from .base import ComponentArgs, TLSComponent
from .certmanager import resources
from .certmanager.checks import acme_solver_problems
from .certmanager.specs import (
    DEFAULT_KEY_NOTE,
    LETSENCRYPT,
    WAIT_INSTEAD_OF_SELF_CHECK_SINCE,
    AcmeIssuerSpec,
    AcmeSolver,
    CertificateSpec,
    Dns01WebhookSolver,
    Http01IngressSolver,
    IssuerRef,
    PrivateKeySpec,
    SolverSelector,
)
from .context import ClusterContext
from .helm import ChartRepository, chart_source, helm_release
from .hosts import CertificateNames, covered, to_ascii
from .inputs import SecretInput, secret_output
from .links import Provided, ProvidedCertificate
from .model import (
    DnsLabel,
    DnsName,
    GoDuration,
    K8sName,
    PinnedVersion,
    ReleaseName,
    Spec,
    StrictInt,
    dns_name,
    version_tuple,
)
from .names import child_name, k8s_name
from .plan import ObjectClaim, certificate_claims
from .replication import KUBED_DEPRECATION, SecretReplication
from .routes import GatewaySpec, IngressRoute, register_gateway_api
from .secret_guard import object_name

# Let's Encrypt accepts RSA 2048-4096 and ECDSA P-256/P-384 only ("ECDSA curve P-521 not allowed", field notes §2.6).
_LE_KEYS = {"RSA": (2048, 3072, 4096), "ECDSA": (256, 384)}
# The webhook's own defaults (dnspod/config.go defaultTTL; values.yaml groupName since chart 1.5).
DEFAULT_GROUP_NAME = "acme.dnspod.com"
# Seed 002's resolvers: DNSPod's public resolver and Google's.
DEFAULT_RESOLVERS = ("119.29.29.29:53", "8.8.8.8:53")


def _pem_certificates(text: str) -> None:
    try:
        certificates = x509.load_pem_x509_certificates(text.encode())
    except ValueError as error:
        raise ValueError(f"acmeCaBundle must be PEM certificates: {error}") from None
    if not all(c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca for c in certificates):
        raise ValueError("acmeCaBundle must hold CA certificates (basicConstraints CA:TRUE)")


def _has_wait(context: ClusterContext) -> bool:
    version = context.cert_manager.version
    return version is None or version_tuple(version) >= WAIT_INSTEAD_OF_SELF_CHECK_SINCE


def _domain(value: str) -> str:
    ascii_domain = to_ascii(value.strip().lower())
    if ascii_domain.startswith("*."):
        raise ValueError("give the domain without '*.': the certificate covers '*.<domain>' itself")
    if "." not in ascii_domain:
        raise ValueError("must be a registered domain such as 'example.com'")
    return dns_name(ascii_domain)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"is not a valid e-mail address: {error}") from None


Domain = Annotated[str, AfterValidator(_domain)]
Email = Annotated[str, AfterValidator(_email)]


class DnspodCredentials(Spec):
    """Tencent Cloud API credentials with DNSPod rights. Store them with `pulumi config set --secret`."""

    secret_id: SecretInput = Field(description="SecretId (the seed's 'API ID'); a str or an Output (require_secret).")
    secret_key: SecretInput = Field(description="SecretKey (the seed's 'API Token'); a str or an Output.")


class DnspodWebhook(Spec):
    """The imroc `cert-manager-webhook-dnspod` chart, installed beside cert-manager."""

    install: bool = Field(
        default=True, description="Install the chart; false: it is installed already, with group_name."
    )
    version: PinnedVersion = Field(
        default="1.5.3", description="Pinned chart version (1.5.x has the secretIdRef config)."
    )
    repository: ChartRepository = Field(default="https://imroc.github.io/cert-manager-webhook-dnspod")
    release_name: ReleaseName = Field(default="cert-manager-webhook-dnspod")
    group_name: K8sName = Field(
        default=DEFAULT_GROUP_NAME, description="The webhook's API group; the solver uses the same."
    )
    timeout_seconds: StrictInt = Field(default=300, ge=60, le=3600)

    @property
    def fullname(self) -> str:
        # templates/_helpers.tpl dnspod-webhook.fullname: the release name if it contains the chart name.
        chart = "cert-manager-webhook-dnspod"
        name = self.release_name if chart in self.release_name else f"{self.release_name}-{chart}"
        return name[:63].rstrip("-")


class Http01Hosts(Spec):
    """An HTTP-01 solver for single hosts (never wildcards), through an ingress class (seed: nginx)."""

    hosts: list[DnsName] = Field(min_length=1)
    ingress_class_name: DnsLabel = "nginx"


class DnspodWildcardArgs(ComponentArgs):
    """Seed 002: ClusterIssuer `dnspod`, Certificate `ipincloud-crt` for `*.xxx.xxx`, kubed sync, the wiki Ingress."""

    domain: Domain = Field(description="Registered domain, e.g. example.com (IDNA names are converted to punycode).")
    email: Email = Field(description="ACME account e-mail (expiry notices).")
    acme_server: str | None = Field(
        default=None,
        description="'letsencrypt', 'letsencrypt-staging' or an https:// ACME directory. Unset: production in a "
        "stack marked production, staging elsewhere.",
    )
    acme_ca_bundle: str | None = Field(
        default=None,
        description="PEM CA certificate(s) of a private ACME server set in acmeServer (step-ca, Vault, pebble), "
        "which cert-manager trusts for that server's TLS (the issuer's acme.caBundle).",
    )
    wait_instead_of_self_check: GoDuration | None = Field(
        default=None,
        description="Skip cert-manager's DNS-01 self-check and wait this long after the TXT record is presented "
        "(cert-manager >= v1.21): split-horizon DNS without the recursive-nameserver flags (seed 002).",
    )
    allow_production_acme: bool = Field(
        default=False,
        description="Allow Let's Encrypt production in a stack not marked production (rate limits apply).",
    )
    credentials: DnspodCredentials
    webhook: DnspodWebhook = Field(default_factory=DnspodWebhook)
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    issuer_name: K8sName = Field(default="dnspod", description="Name of the ACME (Cluster)Issuer (seed: dnspod).")
    issuer_namespace: DnsLabel | None = Field(default=None, description="Namespace of an Issuer (issuerKind: Issuer).")
    account_key_secret_name: K8sName | None = Field(
        default=None, description="ACME account key Secret (default <issuer>-account-key)."
    )
    credentials_secret_name: K8sName | None = Field(
        default=None, description="DNSPod credentials Secret (default <issuer>-dnspod-credentials)."
    )
    ttl: StrictInt = Field(default=600, ge=1, description="TTL of the challenge TXT record (webhook default 600).")
    record_line: str | None = Field(default=None, description="DNSPod record line, e.g. 默认.")
    dns_zones: list[DnsName] = Field(default_factory=list, description="Limit the DNS-01 solver to these zones.")
    http01: Http01Hosts | None = Field(default=None, description="Also an HTTP-01 solver for these single hosts.")
    certificate_name: K8sName | None = Field(
        default=None, description="Certificate (and Secret) name (seed: ipincloud-crt)."
    )
    secret_name: K8sName | None = Field(default=None, description="Secret name (default: the certificate name).")
    certificate_namespace: DnsLabel | None = Field(
        default=None, description="Where the Certificate lives (default: cert-manager's)."
    )
    include_apex: bool = Field(default=True, description="Cover the domain itself as well as '*.<domain>'.")
    private_key: PrivateKeySpec = Field(
        default_factory=lambda: PrivateKeySpec(algorithm="ECDSA", size=256, rotation_policy="Always"),
        description="Key of the wildcard certificate: what Let's Encrypt accepts (RSA 2048-4096, ECDSA 256/384)."
        + " "
        + DEFAULT_KEY_NOTE,
    )
    replication: SecretReplication = Field(default_factory=SecretReplication)
    ingresses: list[IngressRoute] = Field(default_factory=list)
    gateway: GatewaySpec | None = Field(default=None, description="Serve the routes through a Gateway API Gateway.")

    @model_validator(mode="after")
    def _rules(self) -> DnspodWildcardArgs:
        if (
            self.acme_server is not None
            and self.acme_server not in LETSENCRYPT
            and not self.acme_server.startswith("https://")
        ):
            raise ValueError(
                f"acmeServer must be 'letsencrypt', 'letsencrypt-staging' or an https:// URL, got {self.acme_server!r}"
            )
        if self.acme_ca_bundle is not None:
            if self.acme_server is None or LETSENCRYPT.get(self.acme_server, self.acme_server) in LETSENCRYPT.values():
                raise ValueError(
                    "acmeCaBundle is for a private ACME server set in acmeServer; Let's Encrypt's certificate chains "
                    "to public roots"
                )
            _pem_certificates(self.acme_ca_bundle)
        if (self.issuer_kind == "Issuer") != (self.issuer_namespace is not None):
            raise ValueError("issuerNamespace is required for an Issuer and not allowed for a ClusterIssuer")
        allowed = _LE_KEYS.get(self.private_key.algorithm, ())
        if (self.private_key.size or (2048 if self.private_key.algorithm == "RSA" else 256)) not in allowed:
            raise ValueError(
                f"privateKey {self.private_key.algorithm} {self.private_key.size}: Let's Encrypt accepts "
                "RSA 2048, 3072 or 4096 and ECDSA 256 or 384"
            )
        if self.http01 is not None:
            for host in self.http01.hosts:
                if host.startswith("*."):
                    raise ValueError(f"http01.hosts {host!r}: a wildcard can only be validated through DNS-01")
        for zone in self.dns_zones:
            if not (self.domain == zone or self.domain.endswith("." + zone)):
                raise ValueError(
                    f"dnsZones {zone!r} does not contain the domain {self.domain!r}: DNS-01 would never apply"
                )
        names = CertificateNames(self.dns_names())
        for ingress in self.ingresses:
            if not covered(names, ingress.host):
                raise ValueError(self._not_covered("Ingress", f"{ingress.namespace}/{ingress.name}", ingress.host))
        if self.gateway is not None:
            for route in self.gateway.routes:
                if not covered(names, route.host):
                    raise ValueError(
                        self._not_covered("HTTPRoute", f"{self.gateway.namespace}/{route.name}", route.host)
                    )
        ingress_keys = [(i.namespace, i.name) for i in self.ingresses]
        if len(set(ingress_keys)) != len(ingress_keys):
            raise ValueError("two ingresses share a namespace and name")
        return self

    def _not_covered(self, kind: str, where: str, host: str) -> str:
        return (
            f"{kind} {where} host {host!r} is not covered by certificate {self.names()['certificate']!r} "
            f"({', '.join(self.dns_names())}): a wildcard covers exactly one label"
        )

    def dns_names(self) -> list[str]:
        return [f"*.{self.domain}", *([self.domain] if self.include_apex else [])]

    def names(self) -> dict[str, str]:
        certificate = self.certificate_name or object_name("wildcard", self.domain)
        return {
            "certificate": certificate,
            "secret": self.secret_name or certificate,
            "account_key": self.account_key_secret_name or k8s_name(self.issuer_name, "account-key", max_length=253),
            "credentials": self.credentials_secret_name
            or k8s_name(self.issuer_name, "dnspod-credentials", max_length=253),
        }

    def server(self, context: ClusterContext) -> str:
        return self.acme_server or ("letsencrypt" if context.production else "letsencrypt-staging")

    def credentials_namespace(self, context: ClusterContext) -> str:
        # The webhook reads the Secret from ChallengeRequest.ResourceNamespace: cert-manager's cluster-resource
        # namespace for a ClusterIssuer, the Issuer's own namespace for an Issuer (NOTES.md §6).
        return self.issuer_namespace or context.cluster_resource_namespace

    def source_namespace(self, context: ClusterContext) -> str:
        return self.certificate_namespace or self.issuer_namespace or context.cert_manager.namespace

    def available_in(self, context: ClusterContext) -> list[str]:
        return sorted({self.source_namespace(context), *self.replication.namespaces})

    def issuer_spec(self, context: ClusterContext) -> AcmeIssuerSpec:
        config: dict[str, Any] = {
            "ttl": self.ttl,
            "secretIdRef": {"name": self.names()["credentials"], "key": "secretId"},
            "secretKeyRef": {"name": self.names()["credentials"], "key": "secretKey"},
        }
        if self.record_line:
            config["recordLine"] = self.record_line
        solvers = [
            AcmeSolver(
                selector=SolverSelector(dns_zones=self.dns_zones) if self.dns_zones else None,
                dns01=Dns01WebhookSolver(group_name=self.webhook.group_name, solver_name="dnspod", config=config),
                wait_instead_of_self_check=self.wait_instead_of_self_check,
            )
        ]
        if self.http01 is not None:
            solvers.append(
                AcmeSolver(
                    selector=SolverSelector(dns_names=self.http01.hosts),
                    http01=Http01IngressSolver(ingress_class_name=self.http01.ingress_class_name),
                )
            )
        return AcmeIssuerSpec(
            server=self.server(context),
            email=self.email,
            private_key_secret_name=self.names()["account_key"],
            solvers=solvers,
            ca_bundle=self.acme_ca_bundle,
        )

    def issuer_ref(self) -> IssuerRef:
        challenges = ["dns01", "http01"] if self.http01 is not None else ["dns01"]
        return IssuerRef(
            name=self.issuer_name,
            kind=self.issuer_kind,
            type="acme",
            namespace=self.issuer_namespace,
            acme_challenges=challenges,
        )

    def certificate_spec(self, context: ClusterContext, namespace: str) -> CertificateSpec:
        secret = self.names()["secret"]
        return CertificateSpec(
            secret_name=secret,
            issuer_ref=self.issuer_ref(),
            dns_names=self.dns_names(),
            private_key=self.private_key,
            secret_template=self.replication.secret_template(secret, namespace),
        )

    def certificate_namespaces(self, context: ClusterContext) -> list[str]:
        """One Certificate in the source namespace, or one per namespace with perNamespace."""
        if self.replication.mechanism == "perNamespace":
            return self.available_in(context)
        return [self.source_namespace(context)]

    def problems(self, context: ClusterContext) -> list[str]:
        problems = []
        server = AcmeIssuerSpec(
            server=self.server(context),
            email=self.email,
            private_key_secret_name="x",
            solvers=self.issuer_spec(context).solvers,
        )
        if self.wait_instead_of_self_check is not None and not _has_wait(context):
            problems.append(
                "waitInsteadOfSelfCheck needs cert-manager v1.21 or newer (the ACME solver field is new in v1.21.0); "
                f"this stack's is {context.cert_manager.version}: use "
                "certManager.dns01RecursiveNameservers(+Only) instead, or pin v1.21"
            )
        if not context.production and server.is_letsencrypt_production and not self.allow_production_acme:
            problems.append(
                f"acmeServer {server.server_url!r} is Let's Encrypt production in a stack not marked production: "
                "leave acmeServer unset (staging), mark the stack production, or set allowProductionAcme: true"
            )
        for namespace in self.certificate_namespaces(context):
            spec = self.certificate_spec(context, namespace)
            problems += acme_solver_problems(spec, server)
            if self.issuer_kind == "Issuer" and not spec.issuer_ref.usable_from(namespace):
                problems.append(
                    f"the Certificate in {namespace!r} cannot use Issuer {self.issuer_namespace}/{self.issuer_name}; "
                    "use a ClusterIssuer"
                )
        available = self.available_in(context)
        for ingress in self.ingresses:
            if ingress.namespace not in available:
                problems.append(self._unavailable("Ingress", f"{ingress.namespace}/{ingress.name}", ingress.namespace))
        if self.gateway is not None and self.gateway.namespace not in available:
            problems.append(
                self._unavailable("Gateway", f"{self.gateway.namespace}/{self.gateway.name}", self.gateway.namespace)
            )
        return problems

    def _unavailable(self, kind: str, where: str, namespace: str) -> str:
        return (
            f"{kind} {where} reads Secret {self.names()['secret']!r} in namespace {namespace!r}, where it is not made "
            f"available: add {namespace!r} to replication.namespaces"
        )

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        names = self.names()
        owner = f"DnspodWildcard {name!r}"
        cm_ns = context.cert_manager.namespace
        claims = [
            ObjectClaim(
                "Secret", self.credentials_namespace(context), names["credentials"], f"{owner} (DNSPod credentials)"
            ),
            ObjectClaim(self.issuer_kind, self.issuer_namespace, self.issuer_name, f"{owner} (ACME issuer)"),
            ObjectClaim(
                "Secret", self.credentials_namespace(context), names["account_key"], f"{owner} (ACME account key)"
            ),
        ]
        if self.webhook.install:
            chart = f"the DNSPod webhook chart ({owner})"
            full = self.webhook.fullname
            # templates/pki.yaml and apiservice.yaml of chart 1.5.3
            claims += [
                ObjectClaim("Issuer", cm_ns, f"{full}-selfsign", chart),
                ObjectClaim("Issuer", cm_ns, f"{full}-ca", chart),
                *certificate_claims(cm_ns, f"{full}-ca", f"{full}-ca", chart),
                *certificate_claims(cm_ns, f"{full}-webhook-tls", f"{full}-webhook-tls", chart),
                ObjectClaim("APIService", None, f"v1alpha1.{self.webhook.group_name}", chart),
            ]
        for namespace in self.certificate_namespaces(context):
            claims += certificate_claims(
                namespace, names["certificate"], names["secret"], f"{owner} (wildcard certificate)"
            )
        if self.replication.mechanism != "perNamespace":
            source = self.source_namespace(context)
            claims += [
                ObjectClaim("Secret", ns, names["secret"], f"{owner} (copy by {self.replication.mechanism})")
                for ns in self.replication.targets(source)
            ]
        claims += [ObjectClaim("Ingress", i.namespace, i.name, f"{owner} (Ingress)") for i in self.ingresses]
        if self.gateway is not None:
            claims += self.gateway.claims(f"{owner} (Gateway API)")
        return claims

    def provides(self, name: str, context: ClusterContext) -> Provided:
        certificate = ProvidedCertificate(
            secret_name=self.names()["secret"],
            dns_names=tuple(self.dns_names()),
            namespaces=tuple(self.available_in(context)),
            has_ca=False,  # ACME issuers write no ca.crt
        )
        return Provided(issuer=self.issuer_ref(), certificate=certificate)

    def cert_manager_defaults(self) -> dict[str, Any]:
        if self.wait_instead_of_self_check is not None:
            return {}  # no self-check to point at public resolvers
        # Seed 002's challenge hung "pending" behind cluster-local DNS until cert-manager self-checked against
        # public resolvers (cert-manager.io/docs/configuration/acme/dns01/#setting-nameservers-for-dns01-self-check).
        return {"dns01_recursive_nameservers": list(DEFAULT_RESOLVERS), "dns01_recursive_nameservers_only": True}


class DnspodWildcard(TLSComponent):
    """A Let's Encrypt wildcard for `*.<domain>` through DNSPod DNS-01, usable in the namespaces you name.

    Creates, in order (each waits for the one before):
      `<name>-webhook`        Helm release of cert-manager-webhook-dnspod in cert-manager's namespace (unless
                              webhook.install is false), groupName and cert-manager's namespace/ServiceAccount
                              derived from the context; the chart's own clusterIssuer stays off
      `<name>-credentials`    Secret with secretId/secretKey (Pulumi secrets) where the webhook reads it
      `<name>-issuer`         ACME (Cluster)Issuer with the DNSPod DNS-01 solver (and HTTP-01 for single hosts)
      `<name>-certificate`    the wildcard Certificate (`-certificate-<ns>` each, with perNamespace)
      `<name>-label-<ns>`     kubed only: the sync label on each target namespace (server-side apply patch)
      `<name>-ingress-<name>` / `<name>-gateway` / `<name>-route-<name>` / `<name>-grant-<ns>`: the consumers
    Outputs: `issuer` ({name, kind, group}), `secret_name`, `namespaces` (where the Secret is usable),
    `dns_names`, `acme_server`.
    """

    issuer: pulumi.Output[dict[str, Any]]
    secret_name: pulumi.Output[str]
    namespaces: pulumi.Output[list[str]]
    dns_names: pulumi.Output[list[str]]
    acme_server: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DnspodWildcardArgs | dict,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: ClusterContext | None = None,
    ):
        args = DnspodWildcardArgs.coerce(args)
        super().__init__(name, opts, args=args, context=context)
        context = self.context
        names = args.names()
        cert_manager = context.cert_manager
        if not cert_manager.dns01_recursive_nameservers_only and args.wait_instead_of_self_check is None:
            pulumi.log.warn(
                f"DnspodWildcard {name!r}: cert-manager does not self-check DNS-01 against public resolvers "
                "(dns01RecursiveNameserversOnly); behind cluster-local DNS challenges stay pending (seed 002)",
                resource=self,
            )
        if args.replication.mechanism == "kubed":
            pulumi.log.warn(f"DnspodWildcard {name!r}: {KUBED_DEPRECATION}", resource=self)

        webhook = None
        if args.webhook.install:
            repository, ca_file = chart_source(args.webhook, context.chart_mirror)
            webhook = helm_release(
                child_name(name, "webhook"),
                name=args.webhook.release_name,
                chart="cert-manager-webhook-dnspod",
                version=args.webhook.version,
                namespace=cert_manager.namespace,
                repository=repository,
                ca_file=ca_file,
                values={
                    "groupName": args.webhook.group_name,
                    "certManager": {
                        "namespace": cert_manager.namespace,
                        "serviceAccountName": cert_manager.effective_service_account_name,
                    },
                    # values.yaml `namespace: cert-manager` places the webhook regardless of the release namespace
                    # (templates/_helpers.tpl dnspod-webhook.namespace).
                    "namespace": cert_manager.namespace,
                    # On, the chart would take the credentials as Helm values (templates/secret.yaml): never.
                    "clusterIssuer": {"enabled": False},
                },
                timeout_seconds=args.webhook.timeout_seconds,
                opts=self.child_opts(),
            )

        credentials = k8s.core.v1.Secret(
            child_name(name, "credentials"),
            metadata={"name": names["credentials"], "namespace": args.credentials_namespace(context)},
            type="Opaque",
            string_data={
                "secretId": secret_output(args.credentials.secret_id, "DnspodWildcardArgs.credentials.secret_id"),
                "secretKey": secret_output(args.credentials.secret_key, "DnspodWildcardArgs.credentials.secret_key"),
            },
            opts=self.child_opts(webhook),
        )
        issuer = resources.issuer(
            child_name(name, "issuer"),
            kind=args.issuer_kind,
            name=args.issuer_name,
            namespace=args.issuer_namespace,
            spec=args.issuer_spec(context),
            opts=self.child_opts(webhook, credentials),
        )

        certificates = []
        for namespace in args.certificate_namespaces(context):
            per_namespace = args.replication.mechanism == "perNamespace"
            certificates.append(
                resources.certificate(
                    self.child_name("certificate", *([namespace] if per_namespace else [])),
                    name=names["certificate"],
                    namespace=namespace,
                    spec=args.certificate_spec(context, namespace),
                    wait_ready=True,
                    opts=self.child_opts(issuer),
                )
            )

        replication: list[pulumi.Resource] = []
        labels = args.replication.namespace_labels(names["secret"])
        if labels:
            for namespace in args.replication.targets(args.source_namespace(context)):
                replication.append(
                    k8s.core.v1.NamespacePatch(
                        self.child_name("label", namespace),
                        metadata={
                            "name": namespace,
                            "labels": labels,
                            # A fixed field manager: later runs update the same fields; deleting the patch only
                            # removes the label, never the namespace (pulumi-kubernetes Patch resources).
                            "annotations": {"pulumi.com/patchFieldManager": "cluster-tls"},
                        },
                        opts=self.child_opts(*certificates),
                    )
                )

        consumers_after = [*certificates, *replication]
        for ingress in args.ingresses:
            body = ingress.manifest(names["secret"])
            k8s.networking.v1.Ingress(
                self.child_name("ingress", ingress.namespace, ingress.name),
                metadata=body["metadata"],
                spec=body["spec"],
                opts=self.child_opts(*consumers_after),
            )
        if args.gateway is not None:
            register_gateway_api(self, args.gateway, names["secret"], *consumers_after)

        self.issuer_ref = args.issuer_ref()
        ref = self.issuer_ref.manifest()
        self.issuer = issuer.metadata.apply(lambda _: ref)
        self.secret_name = certificates[0].spec.apply(lambda s: s["secretName"])
        self.namespaces = pulumi.Output.all(*[c.metadata for c in certificates], *[r.id for r in replication]).apply(
            lambda _: args.available_in(context)
        )
        self.dns_names = pulumi.Output.from_input(args.dns_names())
        self.acme_server = pulumi.Output.from_input(args.issuer_spec(context).server_url)
        self.register_outputs(
            {
                "issuer": self.issuer,
                "secret_name": self.secret_name,
                "namespaces": self.namespaces,
                "dns_names": self.dns_names,
                "acme_server": self.acme_server,
                # for the preflight rules (D4): what the stack says of a cert-manager it may not install itself
                "dns01_recursive_nameservers_only": pulumi.Output.from_input(
                    cert_manager.dns01_recursive_nameservers_only
                ),
            },
            known={
                "issuer": self.issuer_ref,
                "secret_name": names["secret"],
                "namespaces": args.available_in(context),
                "dns_names": args.dns_names(),
                "acme_server": args.issuer_spec(context).server_url,
            },
        )
