"""The rules, one module per group (the README's table); each registers its rules with the engine when imported.
Ids follow ../shared/notes/field-failures.md "Checks a tool could run" (A-I); GW*, IST0138, NGINX and LE1 cover the
Gateway API, Istio's analyzer, ingress-nginx's retirement and Let's Encrypt's rate limits. Adding a rule touches
its group's module alone."""

from . import acme, ca_hygiene, gateway_api, hubble, issuers, istio, ordering, replication, schemas, webhook, whizard

__all__ = [
    "ordering",
    "webhook",
    "issuers",
    "ca_hygiene",
    "acme",
    "hubble",
    "istio",
    "gateway_api",
    "whizard",
    "replication",
    "schemas",
]
