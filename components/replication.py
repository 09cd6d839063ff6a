"""Making one certificate Secret usable in other namespaces.

Four mechanisms (../shared/schemas/NOTES.md §7):
- `reflector` (emberstack kubernetes-reflector; cert-manager's docs recommend it): annotations on the Secret
  through the Certificate's `secretTemplate`. `reflection-allowed-namespaces` must include every
  `reflection-auto-namespaces` entry, or reflector refuses ("Source ns/secret does not permit it").
- `replicator` (mittwald kubernetes-replicator): `replicator.v1.mittwald.de/replicate-to: ns1,ns2` on the Secret.
- `kubed` (seed 002; appscode, no release since 2022, images need a licence since 2024):
  `kubed.appscode.com/sync: "<label>=<value>"` on the Secret and that label on every target namespace.
- `perNamespace`: one Certificate per namespace, no controller needed, one ACME order each.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .certmanager.specs import SecretTemplate
from .model import DnsLabel, Spec, qualified_name, repeated

REFLECTOR = "reflector.v1.k8s.emberstack.com/"
REPLICATOR = "replicator.v1.mittwald.de/"
KUBED_SYNC = "kubed.appscode.com/sync"
KUBED_DEPRECATION = (
    "kubed (appscode) has had no release since 2022 and its images need a licence since 2024; "
    "cert-manager's docs recommend reflector or kubernetes-replicator (mechanism: reflector)"
)


class SecretReplication(Spec):
    mechanism: Literal["reflector", "replicator", "kubed", "perNamespace"] = Field(
        default="reflector", description="How the Secret reaches the other namespaces (see components/replication.py)."
    )
    namespaces: list[DnsLabel] = Field(default_factory=list, description="Namespaces that need the Secret.")
    kubed_label: str = Field(
        default="cert-manager-tls",
        description="kubed only: the namespace label key; its value is the Secret's name (seed 002: "
        "cert-manager-tls=ipincloud-crt).",
    )

    @model_validator(mode="after")
    def _valid(self) -> SecretReplication:
        dupes = repeated(self.namespaces)
        if dupes:
            raise ValueError(f"namespaces lists {dupes} more than once")
        qualified_name(self.kubed_label)
        return self

    def targets(self, source_namespace: str) -> list[str]:
        return sorted(set(self.namespaces) - {source_namespace})

    def secret_template(self, secret_name: str, source_namespace: str) -> SecretTemplate | None:
        targets = ",".join(self.targets(source_namespace))
        if not targets or self.mechanism == "perNamespace":
            return None
        if self.mechanism == "reflector":
            return SecretTemplate(
                annotations={
                    f"{REFLECTOR}reflection-allowed": "true",
                    f"{REFLECTOR}reflection-allowed-namespaces": targets,
                    f"{REFLECTOR}reflection-auto-enabled": "true",
                    f"{REFLECTOR}reflection-auto-namespaces": targets,
                }
            )
        if self.mechanism == "replicator":
            return SecretTemplate(annotations={f"{REPLICATOR}replicate-to": targets})
        return SecretTemplate(annotations={KUBED_SYNC: f"{self.kubed_label}={secret_name}"})

    def namespace_labels(self, secret_name: str) -> dict[str, str]:
        """Labels every target namespace must carry (kubed's selector), else nothing."""
        return {self.kubed_label: secret_name} if self.mechanism == "kubed" else {}
