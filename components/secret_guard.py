"""Keep every value that came from secret config a Pulumi secret, wherever it lands.

Pulumi marks config secret per top-level key; a secret string copied into a name, a subject or free-form Helm
values is plain text again unless something wraps it. The guard knows the program's secret strings and, as a
stack transformation (it runs in the program for the real engine and for the mock runtime alike), turns every
resource input that contains one into `Output.secret`; components wrap their registered outputs the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pulumi
from pulumi.runtime import settings

_active: tuple[object, SecretGuard] | None = None


def _contains_output(value: Any) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(_contains_output(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_output(v) for v in value)
    return False


# Shorter values cannot be found by substring without marking every input that contains them ("a" in every
# host name, issue 19); Pulumi still keeps the config value itself a secret wherever it flows.
MIN_SECRET_CHARS = 4


class SecretGuard:
    def __init__(self, secrets: Iterable[str]):
        self.secrets = tuple(sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS}))

    def contains(self, value: Any) -> bool:
        if isinstance(value, str):
            return any(secret in value for secret in self.secrets)
        if isinstance(value, dict):
            return any(self.contains(k) or self.contains(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(self.contains(v) for v in value)
        return False

    def wrap(self, value: Any) -> Any:
        """`value` unchanged, or as `Output.secret` if it holds a secret (once resolved, for Outputs)."""
        if not self.secrets:
            return value
        if _contains_output(value):
            return pulumi.Output.from_input(value).apply(
                lambda resolved: pulumi.Output.secret(resolved) if self.contains(resolved) else resolved
            )
        return pulumi.Output.secret(value) if self.contains(value) else value

    def redact(self, text: str, marker: str = "[secret]") -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, marker)
        return text

    def _transformation(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        props = args.props or {}
        wrapped = {key: self.wrap(value) for key, value in props.items()}
        return pulumi.ResourceTransformationResult(wrapped, args.opts)


def install(secrets: Iterable[str]) -> SecretGuard:
    """Guard every resource this program registers from now on against leaking `secrets`."""
    global _active
    guard = SecretGuard(secrets)
    if guard.secrets:
        pulumi.runtime.register_stack_transformation(guard._transformation)
    _active = (settings.get_root_resource(), guard)
    return guard


def active() -> SecretGuard | None:
    """The guard of the program now running (none in another program, or in a later one in this process)."""
    root = settings.get_root_resource()
    if _active is not None and root is not None and _active[0] is root:
        return _active[1]
    return None


def resource_name(prefix: str, *parts: str) -> str:
    """`<prefix>-<parts>`: a Pulumi resource name built from config values. A name (URN) can never be secret, so
    parts that hold a secret value are replaced by a digest of them: stable across runs, the value stays out of
    state, previews and renders."""
    guard = active()
    if parts and guard is not None and guard.contains(list(parts)):
        return f"{prefix}-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:12]}"
    return "-".join([prefix, *parts])


def guard_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    guard = active()
    return {k: guard.wrap(v) for k, v in outputs.items()} if guard else outputs
