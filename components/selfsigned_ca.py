"""SelfSignedCAChain: selfSigned issuer -> CA Certificate (isCA) -> `ca` issuer that signs leaves.

Leaves issued straight from a selfSigned issuer each get their own root, so peers can never verify one
another ("x509: certificate signed by unknown authority", seed 001; cert-manager docs "Bootstrapping CA
Issuers"). This chain gives every leaf the same CA.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pydantic import Field, model_validator

from .base import ComponentArgs, TLSComponent
from .certmanager import resources
from .certmanager.specs import (
    DEFAULT_KEY_NOTE,
    CAIssuerSpec,
    CertificateSpec,
    IssuerRef,
    KeystoreSpec,
    PrivateKeySpec,
    SelfSignedIssuerSpec,
    X509Subject,
    check_common_name,
    check_lifetime,
)
from .context import ClusterContext
from .links import Provided
from .model import DnsLabel, GoDuration, K8sName, Spec, StrictInt
from .names import child_name, k8s_name
from .plan import ObjectClaim, certificate_claims


class CABundleRef(Spec):
    """Where the CA certificate lives, for clients that must trust it."""

    secret_name: K8sName
    namespace: K8sName
    key: str = "ca.crt"


class TruststoreSettings(Spec):
    """Java (JKS) and PKCS#12 truststores holding the CA, for clients that cannot read PEM."""

    jks: bool = Field(default=True, description="truststore.jks (and keystore.jks) in the CA Secret.")
    pkcs12: bool = Field(default=False, description="truststore.p12 (and keystore.p12) in the CA Secret.")
    pkcs12_profile: Literal["LegacyRC2", "LegacyDES", "Modern2023"] = Field(default="Modern2023")
    password_secret_name: K8sName | None = Field(
        default=None, description="Secret for the generated password (default: '<CA secret>-keystore-password')."
    )


class SelfSignedCAChainArgs(ComponentArgs):
    """A private CA managed by cert-manager. Names default to ones derived from the component name.

    A cluster-scoped chain keeps its CA Secret in cert-manager's cluster-resource namespace, taken from the
    component's `context` (the stack's cert-manager), never typed twice.
    """

    scope: Literal["namespaced", "cluster"] = Field(
        default="namespaced",
        description="namespaced: Issuers in `namespace`; cluster: ClusterIssuers usable everywhere.",
    )
    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace of the issuers and CA Secret (namespaced scope). Cluster scope: leave unset, the "
        "CA Secret goes to cert-manager's cluster-resource namespace.",
    )
    ca_common_name: str | None = Field(
        default=None, description="CN of the CA, at most 64 bytes (default: the CA certificate name)."
    )
    organizations: list[str] = Field(default_factory=list, description="Subject O of the CA.")
    duration: GoDuration = Field(default="87600h", description="CA lifetime (seed 000: 87600h, 10 years).")
    renew_before: GoDuration | None = Field(default=None, description="Renew the CA this long before it expires.")
    renew_before_percentage: StrictInt | None = Field(
        default=None,
        ge=1,
        le=99,
        description="Renew when this percentage of the CA's lifetime is left (not with renewBefore).",
    )
    private_key: PrivateKeySpec = Field(
        default_factory=lambda: PrivateKeySpec(algorithm="ECDSA", size=256, rotation_policy="Never"),
        description="CA key. rotationPolicy Never keeps the key on renewal, so issued leaves stay valid."
        + " "
        + DEFAULT_KEY_NOTE,
    )
    self_signed_issuer_name: K8sName | None = Field(default=None, description="Name of the selfSigned (Cluster)Issuer.")
    ca_certificate_name: K8sName | None = Field(default=None, description="Name of the CA Certificate.")
    ca_secret_name: K8sName | None = Field(default=None, description="Name of the Secret holding the CA key pair.")
    ca_issuer_name: K8sName | None = Field(
        default=None, description="Name of the `ca` (Cluster)Issuer that signs leaves."
    )
    wait_for_ready: bool = Field(default=True, description="Block `pulumi up` until the CA Certificate is Ready.")
    truststores: TruststoreSettings | None = Field(
        default=None,
        description="Also write the CA as truststore.jks / truststore.p12 into the CA Secret, protected by a "
        "password generated once (pulumi-random) and kept in a Secret beside it.",
    )

    @model_validator(mode="after")
    def _scope_rules(self) -> SelfSignedCAChainArgs:
        check_common_name(self.ca_common_name)
        check_lifetime(self.duration, self.renew_before, self.renew_before_percentage)
        if self.scope == "namespaced" and self.namespace is None:
            raise ValueError("namespace is required when scope is 'namespaced'")
        return self

    def problems(self, context: ClusterContext) -> list[str]:
        crn = context.cluster_resource_namespace
        if self.scope == "cluster" and self.namespace not in (None, crn):
            return [
                f"namespace {self.namespace!r}: a ClusterIssuer reads its CA Secret only from cert-manager's "
                f"cluster-resource namespace {crn!r} (cert-manager#2130); leave namespace unset"
            ]
        return []

    def secret_namespace(self, context: ClusterContext) -> str:
        return self.namespace if self.scope == "namespaced" else context.cluster_resource_namespace

    @property
    def issuer_kind(self) -> Literal["Issuer", "ClusterIssuer"]:
        return "Issuer" if self.scope == "namespaced" else "ClusterIssuer"

    def names(self, name: str) -> dict[str, str]:
        certificate = self.ca_certificate_name or k8s_name(name, "ca")
        secret = self.ca_secret_name or certificate
        truststores = self.truststores
        return {
            "selfsigned": self.self_signed_issuer_name or k8s_name(name, "selfsigned"),
            "certificate": certificate,
            "secret": secret,
            "ca_issuer": self.ca_issuer_name or k8s_name(name),
            "keystore_password": (
                (truststores.password_secret_name or k8s_name(secret, "keystore-password", max_length=253))
                if truststores
                else ""
            ),
        }

    def ca_issuer_ref(self, name: str) -> IssuerRef:
        """The `ca` issuer the chain `name` creates, for the certificates it signs."""
        namespace = self.namespace if self.issuer_kind == "Issuer" else None
        return IssuerRef(name=self.names(name)["ca_issuer"], kind=self.issuer_kind, type="ca", namespace=namespace)

    def provides(self, name: str, context: ClusterContext) -> Provided:
        return Provided(issuer=self.ca_issuer_ref(name))

    def claims(self, name: str, context: ClusterContext) -> list[ObjectClaim]:
        names, kind = self.names(name), self.issuer_kind
        issuer_namespace = self.namespace if kind == "Issuer" else None
        owner = f"SelfSignedCAChain {name!r}"
        return [
            ObjectClaim(kind, issuer_namespace, names["selfsigned"], f"{owner} (selfSigned issuer)"),
            *certificate_claims(
                self.secret_namespace(context), names["certificate"], names["secret"], f"{owner} (CA certificate)"
            ),
            ObjectClaim(kind, issuer_namespace, names["ca_issuer"], f"{owner} (CA issuer)"),
        ] + (
            [ObjectClaim("Secret", self.secret_namespace(context), names["keystore_password"], f"{owner} (keystores)")]
            if self.truststores
            else []
        )


class SelfSignedCAChain(TLSComponent):
    """A CA chain in cert-manager: selfSigned issuer, CA Certificate, and the `ca` issuer other certs use.

    Creates (kind Issuer or ClusterIssuer by `scope`):
      `<name>-selfsigned-issuer`  selfSigned issuer `self_signed_issuer_name` (default `<name>-selfsigned`)
      `<name>-ca-certificate`     Certificate `ca_certificate_name` (default `<name>-ca`), isCA, into the CA Secret
      `<name>-ca-issuer`          `ca` issuer `ca_issuer_name` (default `<name>`) backed by that Secret
    With `truststores`: `<name>-keystore-password` (a generated password, pulumi-random, and its Secret).
    Outputs: `issuer` ({name, kind, group}), `ca_secret_name`, `ca_secret_namespace`, `ca_key`,
    `truststore` ({secret, namespace, keys, password_secret, password_key} or None);
    and, as plain values for other components' args, `issuer_ref` and `ca_bundle`.
    """

    issuer: pulumi.Output[dict[str, Any]]
    ca_secret_name: pulumi.Output[str]
    ca_secret_namespace: pulumi.Output[str]
    ca_key: pulumi.Output[str]
    truststore: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        name: str,
        args: SelfSignedCAChainArgs | dict,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: ClusterContext | None = None,
    ):
        args = SelfSignedCAChainArgs.coerce(args)
        super().__init__(name, opts, args=args, context=context)
        kind = args.issuer_kind
        issuer_namespace = args.namespace if kind == "Issuer" else None
        names = args.names(name)
        selfsigned_name, certificate_name = names["selfsigned"], names["certificate"]
        secret_name, ca_issuer_name = names["secret"], names["ca_issuer"]
        secret_namespace = args.secret_namespace(self.context)

        self.issuer_ref = args.ca_issuer_ref(name)
        self.ca_bundle = CABundleRef(secret_name=secret_name, namespace=secret_namespace)
        ca_spec = CertificateSpec(
            secret_name=secret_name,
            issuer_ref=IssuerRef(name=selfsigned_name, kind=kind, type="selfSigned", namespace=issuer_namespace),
            common_name=args.ca_common_name or certificate_name,
            is_ca=True,
            duration=args.duration,
            renew_before=args.renew_before,
            renew_before_percentage=args.renew_before_percentage,
            private_key=args.private_key,
            subject=X509Subject(organizations=args.organizations) if args.organizations else None,
            keystores=(
                KeystoreSpec(
                    jks=args.truststores.jks,
                    pkcs12=args.truststores.pkcs12,
                    pkcs12_profile=args.truststores.pkcs12_profile,
                    password_secret_name=names["keystore_password"],
                )
                if args.truststores
                else None
            ),
        )

        selfsigned = resources.issuer(
            child_name(name, "selfsigned-issuer"),
            kind=kind,
            name=selfsigned_name,
            namespace=issuer_namespace,
            spec=SelfSignedIssuerSpec(),
            opts=self.child_opts(),
        )
        keystore_password = (
            resources.keystore_password_secret(
                child_name(name, "keystore-password"),
                name=names["keystore_password"],
                namespace=secret_namespace,
                opts=self.child_opts(),
            )
            if args.truststores
            else None
        )
        ca_certificate = resources.certificate(
            child_name(name, "ca-certificate"),
            name=certificate_name,
            namespace=secret_namespace,
            spec=ca_spec,
            wait_ready=args.wait_for_ready,
            opts=self.child_opts(selfsigned, keystore_password),
        )
        ca_issuer = resources.issuer(
            child_name(name, "ca-issuer"),
            kind=kind,
            name=ca_issuer_name,
            namespace=issuer_namespace,
            spec=CAIssuerSpec(secret_name=secret_name),
            opts=self.child_opts(ca_certificate),
        )
        self.resources = {"selfsigned_issuer": selfsigned, "ca_certificate": ca_certificate, "ca_issuer": ca_issuer}

        ref = self.issuer_ref.manifest()
        self.issuer = ca_issuer.metadata.apply(lambda _: ref)
        self.ca_secret_name = ca_certificate.spec.apply(lambda s: s["secretName"])
        self.ca_secret_namespace = ca_certificate.metadata.apply(lambda m: m["namespace"])
        self.ca_key = pulumi.Output.from_input(self.ca_bundle.key)
        stores = args.truststores
        self.truststore = pulumi.Output.from_input(
            {
                "secret": secret_name,
                "namespace": secret_namespace,
                "keys": [k for k, on in (("truststore.jks", stores.jks), ("truststore.p12", stores.pkcs12)) if on],
                "password_secret": names["keystore_password"],
                "password_key": "password",
            }
            if stores
            else None
        )
        self.register_outputs(
            {
                "issuer": self.issuer,
                "ca_secret_name": self.ca_secret_name,
                "ca_secret_namespace": self.ca_secret_namespace,
                "ca_key": self.ca_key,
                "truststore": self.truststore,
            },
            known={
                "issuer": self.issuer_ref,
                "ca_secret_name": secret_name,
                "ca_secret_namespace": secret_namespace,
                "ca_key": self.ca_bundle.key,
            },
        )
