"""Registration of cert-manager objects as Pulumi custom resources, from validated specs."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .specs import API_VERSION, CertificateSpec, IssuerKind, IssuerSpec

# Pulumi does not wait for custom resources by default; this makes `pulumi up` block until cert-manager
# reports the certificate Ready, so consumers of its Secret start after it exists (pulumi/docs#12454).
WAIT_READY = {"pulumi.com/waitFor": "condition=Ready"}


def _metadata(name: str, namespace: str | None, annotations: dict[str, str] | None) -> dict:
    metadata: dict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def issuer(
    resource_name: str,
    *,
    kind: IssuerKind,
    name: str,
    namespace: str | None,
    spec: IssuerSpec,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    if (kind == "ClusterIssuer") != (namespace is None):
        raise ValueError(f"{kind} {name!r}: a ClusterIssuer has no namespace and an Issuer needs one")
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind=kind,
        metadata=_metadata(name, namespace, None),
        spec=spec.manifest(),
        opts=opts,
    )


def certificate(
    resource_name: str,
    *,
    name: str,
    namespace: str,
    spec: CertificateSpec,
    wait_ready: bool,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    if not spec.issuer_ref.usable_from(namespace):
        raise ValueError(
            f"Certificate {namespace}/{name}: issuerRef names Issuer {spec.issuer_ref.namespace}/"
            f"{spec.issuer_ref.name}, but a namespaced Issuer only signs Certificates in its own namespace"
        )
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind="Certificate",
        metadata=_metadata(name, namespace, WAIT_READY if wait_ready else None),
        spec=spec.manifest(),
        opts=opts,
    )


def keystore_password_secret(
    resource_name: str, *, name: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """A Secret with a generated keystore password under `password`.

    The password is generated once and kept in Pulumi state (pulumi-random), so it stays the same on every
    `pulumi up`; rotating it means replacing `<resource_name>-password`. Its result is a Pulumi secret.
    """
    password = random.RandomPassword(f"{resource_name}-password", length=32, special=False, opts=opts)
    return k8s.core.v1.Secret(
        resource_name,
        metadata={"name": name, "namespace": namespace},
        type="Opaque",
        string_data={"password": password.result},
        opts=opts,
    )
