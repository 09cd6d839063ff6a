"""Keep every value that came from secret config a Pulumi secret, wherever it lands.

Pulumi marks config secret per top-level key; a secret string copied into a name, a subject or free-form Helm
values is plain text again unless something wraps it. The guard knows the program's secret strings and, as a
stack transformation (it runs in the program for the real engine and for the mock runtime alike), turns every
string leaf of a resource's inputs that holds one into `Output.secret`; components wrap their registered outputs
the same way. Only those leaves become secret: the rest of the object stays reviewable in previews, renders and
diffs, and the preflight rules still judge it (issue 19).

A value holds a secret where the secret stands as a whole word in it: the whole value, or a part of it set off by
characters that are not letters or digits (`*.<domain>`, `<name>-tls`, `https://<host>:443`). A secret "hook" of a
key set as one secret does not make `webhook` or `cert-manager-webhook` secret (issue 19).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import pulumi
from email_validator import EmailNotValidError, validate_email
from pulumi.runtime import settings

from .hosts import to_ascii
from .names import k8s_name, sanitized_label

_active: tuple[object, SecretGuard] | None = None


# Shorter values cannot be searched for without marking every input that holds them ("a" of every "a.b" host,
# issue 19); Pulumi still keeps the config value itself a secret wherever it flows.
MIN_SECRET_CHARS = 4


def derived_forms(secret: str) -> set[str]:
    """`secret` and what the package derives from it, which must stay as secret as it (issue 19): stripped and
    lowered (domains, hosts), IDNA-encoded (`to_ascii`), an e-mail as email-validator normalises it, and a
    Kubernetes name as `k8s_name` sanitises it."""
    forms = {secret, secret.strip(), secret.lower(), secret.strip().lower(), secret.casefold()}
    for form in list(forms):
        try:
            forms.add(to_ascii(form.rstrip(".")))
        except ValueError:
            pass
        try:
            forms.add(validate_email(form, check_deliverability=False).normalized)
        except EmailNotValidError:
            pass
    forms |= {sanitized_label(form) for form in list(forms)}
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


# Word boundaries of any script: a secret must not continue a run of letters or digits on either side.
_LEFT, _RIGHT = r"(?<![^\W_])", r"(?![^\W_])"


class SecretGuard:
    def __init__(self, secrets: Iterable[str]):
        given = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS}
        self.secrets = tuple(sorted({form for secret in given for form in derived_forms(secret)}))
        # longest first, so that a secret containing another is matched (and redacted) whole
        longest_first = sorted(self.secrets, key=lambda s: (-len(s), s))
        alternatives = "|".join(re.escape(s) for s in longest_first)
        self._pattern = re.compile(f"{_LEFT}(?:{alternatives}){_RIGHT}") if self.secrets else None

    def contains(self, value: Any) -> bool:
        if self._pattern is None:
            return False
        if isinstance(value, str):
            return self._pattern.search(value) is not None
        if isinstance(value, dict):
            return any(self.contains(k) or self.contains(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(self.contains(v) for v in value)
        return False

    def wrap(self, value: Any) -> Any:
        """`value` with each leaf that holds a secret as `Output.secret` (once resolved, for Outputs); a mapping
        whose keys hold one is secret as a whole, since a key cannot be secret on its own."""
        if not self.secrets:
            return value
        if isinstance(value, pulumi.Output):  # its value may hold Outputs itself (inputs built from other outputs)
            return value.apply(self.wrap)
        if isinstance(value, dict):
            if any(self.contains(key) for key in value):
                return pulumi.Output.secret(value)
            return {key: self.wrap(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.wrap(item) for item in value]
        return pulumi.Output.secret(value) if self.contains(value) else value

    def redact(self, text: str, marker: str = "[secret]") -> str:
        return self._pattern.sub(marker, text) if self._pattern is not None else text

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


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:12]


def resource_name(prefix: str, *parts: str) -> str:
    """`<prefix>-<parts>`: a Pulumi resource name built from config values. A name (URN) can never be secret, so
    parts that hold a secret value are replaced by a digest of them: stable across runs, the value stays out of
    state, previews and renders."""
    guard = active()
    if parts and guard is not None and guard.contains(list(parts)):
        return f"{prefix}-{_digest(parts)}"
    return "-".join([prefix, *parts])


def object_name(*parts: str, max_length: int = 63) -> str:
    """`k8s_name(*parts)`, unless a part holds a secret: then the first part and a digest of the others, since a
    Kubernetes name is never secret (it is in the object's path, the preview and every reference to it)."""
    guard = active()
    if len(parts) > 1 and guard is not None and guard.contains(list(parts[1:])):
        return k8s_name(parts[0], _digest(parts[1:]))
    return k8s_name(*parts, max_length=max_length)


def guard_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    guard = active()
    return {k: guard.wrap(v) for k, v in outputs.items()} if guard else outputs
