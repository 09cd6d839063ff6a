"""The one place that derives Kubernetes object names.

Names that other objects refer to (Secrets, Issuers, ClusterIssuers, Certificates) must be explicit and
deterministic: Pulumi's random auto-name suffix would break `secretName`, `issuerRef` and `credentialName`.
Like cdk8s `Names`: RFC 1123 labels, at most 63 characters, a short hash only when truncation forces it.
"""

from __future__ import annotations

import hashlib
import re

MAX_LABEL = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")

# Namespaces every cluster has; a stack may write into them, never own them.
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def sanitized_label(text: str) -> str:
    """`text` lowered, every run of characters outside [a-z0-9-] one '-', no '-' at either end."""
    return _DASHES.sub("-", _INVALID.sub("-", text.lower())).strip("-")


def k8s_name(*parts: str, max_length: int = MAX_LABEL) -> str:
    """Join parts into a valid, stable RFC 1123 label: `k8s_name("Private CA", "ca")` -> `private-ca-ca`."""
    raw = "-".join(p for p in parts if p)
    name = sanitized_label(raw)
    if not name:
        raise ValueError(f"cannot derive a Kubernetes name from {parts!r}")
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9].rstrip('-')}-{digest}"


def child_name(component: str, role: str) -> str:
    """Pulumi logical name of a component's child: `<component>-<role>` (renaming it replaces the resource)."""
    return f"{component}-{role}"
