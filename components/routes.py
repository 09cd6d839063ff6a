"""Consumers of a certificate Secret: Ingresses and Gateway API Gateways with HTTPRoutes.

Both are plain manifests built from typed routes; the component that owns the certificate registers them and
checks that every host is covered by the certificate and that the Secret is usable where it is read.
ingress-nginx was retired (archived March 2026): `ingressClassName: nginx` still works where a controller
serves that class, and the same routes are offered as Gateway API objects (../shared/schemas/NOTES.md §9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, StringConstraints, model_validator

from .model import Annotations, DnsLabel, DnsName, K8sName, Spec, StrictInt, repeated
from .names import k8s_name
from .plan import ObjectClaim
from .secret_guard import object_name

if TYPE_CHECKING:
    from .base import TLSComponent

GATEWAY_API = "gateway.networking.k8s.io/v1"
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
HttpPath = Annotated[str, StringConstraints(pattern=r"^/[^\s]*$")]


class Backend(Spec):
    service: K8sName = Field(description="Service name.")
    port: Port = Field(description="Service port number.")
    namespace: DnsLabel | None = Field(default=None, description="Service namespace (default: the route's).")


class IngressRoute(Spec):
    """One host of an Ingress, served with the certificate's Secret. `tls.hosts` always equals the rule host."""

    name: K8sName
    namespace: DnsLabel
    host: DnsName
    backend: Backend
    path: HttpPath = "/"
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = "Prefix"
    ingress_class_name: K8sName = Field(default="nginx", description="IngressClass (seed 002: nginx).")
    annotations: Annotations = Field(default_factory=dict, description="e.g. nginx annotations, only when asked.")
    tls_hosts: list[DnsName] | None = Field(
        default=None, description="Leave unset: the TLS hosts are the rule host. Given, they must equal it."
    )

    @model_validator(mode="after")
    def _tls_hosts_match_the_rule(self) -> IngressRoute:
        if self.tls_hosts is not None and set(self.tls_hosts) != {self.host}:
            raise ValueError(
                f"Ingress {self.namespace}/{self.name}: tls.hosts {self.tls_hosts} differ from the rule host "
                f"{self.host!r}; the controller would serve its default certificate for {self.host!r}"
            )
        return self

    def manifest(self, secret_name: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": metadata,
            "spec": {
                "ingressClassName": self.ingress_class_name,
                "rules": [
                    {
                        "host": self.host,
                        "http": {
                            "paths": [
                                {
                                    "path": self.path,
                                    "pathType": self.path_type,
                                    "backend": {
                                        "service": {"name": self.backend.service, "port": {"number": self.backend.port}}
                                    },
                                }
                            ]
                        },
                    }
                ],
                "tls": [{"hosts": [self.host], "secretName": secret_name}],
            },
        }


class HttpRoute(Spec):
    name: K8sName
    host: DnsName
    backend: Backend
    path: HttpPath = "/"


class GatewaySpec(Spec):
    """A Gateway API Gateway with one HTTPS listener per host, and an HTTPRoute per route, in one namespace.

    The listeners' `certificateRefs` name the Secret in the Gateway's own namespace (a cross-namespace reference
    would need a ReferenceGrant, and cert-manager issues nothing for it: cert-manager#5610).
    """

    name: K8sName
    namespace: DnsLabel
    gateway_class_name: K8sName = Field(default="istio", description="GatewayClass (Istio's is `istio`).")
    https_redirect: bool = Field(default=True, description="An HTTP listener on 80 whose HTTPRoute redirects to HTTPS.")
    annotations: Annotations = Field(default_factory=dict, description="Gateway annotations.")
    routes: list[HttpRoute] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> GatewaySpec:
        names = [r.name for r in self.routes]
        dupes = repeated(names)
        if dupes:
            raise ValueError(f"routes named {dupes} more than once")
        return self

    def hosts(self) -> list[str]:
        return sorted({r.host for r in self.routes})

    @staticmethod
    def listener_name(host: str) -> str:
        return object_name("https", host.replace("*", "wildcard"))

    def gateway_manifest(self, secret_name: str) -> dict[str, Any]:
        listeners = [
            {
                "name": self.listener_name(host),
                "hostname": host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": secret_name}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }
            for host in self.hosts()
        ]
        if self.https_redirect:
            listeners.append(
                {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}
            )
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        return {
            "apiVersion": GATEWAY_API,
            "kind": "Gateway",
            "metadata": metadata,
            "spec": {"gatewayClassName": self.gateway_class_name, "listeners": listeners},
        }

    def reference_grants(self) -> list[dict[str, Any]]:
        """HTTPRoutes here that send to Services in other namespaces need a ReferenceGrant there (Gateway API
        ReferenceGrant: the target namespace allows HTTPRoutes of this namespace to reference its Services)."""
        namespaces = sorted(
            {r.backend.namespace for r in self.routes if r.backend.namespace not in (None, self.namespace)}
        )
        return [
            {
                "apiVersion": "gateway.networking.k8s.io/v1beta1",
                "kind": "ReferenceGrant",
                "metadata": {"name": k8s_name(self.namespace, "httproutes"), "namespace": namespace},
                "spec": {
                    "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": self.namespace}],
                    "to": [{"group": "", "kind": "Service"}],
                },
            }
            for namespace in namespaces
        ]

    def claims(self, owner: str) -> list[ObjectClaim]:
        """The Gateway, HTTPRoutes and ReferenceGrants `register_gateway_api` creates, for the claims ledger."""
        return [
            ObjectClaim("Gateway.gateway.networking.k8s.io", self.namespace, self.name, owner),
            *(ObjectClaim("HTTPRoute", self.namespace, r["metadata"]["name"], owner) for r in self.route_manifests()),
            *(
                ObjectClaim("ReferenceGrant", g["metadata"]["namespace"], g["metadata"]["name"], owner)
                for g in self.reference_grants()
            ),
        ]

    def route_manifests(self) -> list[dict[str, Any]]:
        routes = [
            {
                "apiVersion": GATEWAY_API,
                "kind": "HTTPRoute",
                "metadata": {"name": route.name, "namespace": self.namespace},
                "spec": {
                    "parentRefs": [{"name": self.name, "sectionName": self.listener_name(route.host)}],
                    "hostnames": [route.host],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                            "backendRefs": [
                                {
                                    "name": route.backend.service,
                                    "port": route.backend.port,
                                    **({"namespace": route.backend.namespace} if route.backend.namespace else {}),
                                }
                            ],
                        }
                    ],
                },
            }
            for route in self.routes
        ]
        if self.https_redirect:
            routes.append(
                {
                    "apiVersion": GATEWAY_API,
                    "kind": "HTTPRoute",
                    "metadata": {"name": f"{self.name}-https-redirect"[:253], "namespace": self.namespace},
                    "spec": {
                        "parentRefs": [{"name": self.name, "sectionName": "http"}],
                        "hostnames": self.hosts(),
                        "rules": [
                            {
                                "filters": [
                                    {
                                        "type": "RequestRedirect",
                                        "requestRedirect": {"scheme": "https", "statusCode": 301},
                                    }
                                ]
                            }
                        ],
                    },
                }
            )
        return routes


def _register(
    resource_name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


def register_gateway_api(
    component: TLSComponent, spec: GatewaySpec, secret_name: str, *after: pulumi.Resource | None
) -> k8s.apiextensions.CustomResource:
    """Register `spec`'s Gateway (after `after`), its ReferenceGrants and its HTTPRoutes (after the Gateway) as
    children of `component`: `<component>-gateway`, `-grant-<namespace>`, `-route-<name>`."""
    gateway = _register(
        component.child_name("gateway"), spec.gateway_manifest(secret_name), component.child_opts(*after)
    )
    for grant in spec.reference_grants():
        _register(component.child_name("grant", grant["metadata"]["namespace"]), grant, component.child_opts())
    for route in spec.route_manifests():
        _register(component.child_name("route", route["metadata"]["name"]), route, component.child_opts(gateway))
    return gateway
