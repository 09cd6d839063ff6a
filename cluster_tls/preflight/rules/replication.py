"""H, I, V. Replication and secrets: replicator annotations, CA keys not copied, no credentials in plain inputs, TLS verification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from ..engine import rule
from ..view import REDACTED, StackView, is_known
from ._common import (
    REFLECTOR,
    Findings,
    _certificates,
    _maybe,
    _split,
)


@rule("H1", "error", "reflector annotations allow what they reflect", per_object=True)
def reflector_annotations(view: StackView) -> Findings:
    for certificate in _certificates(view):
        annotations = ((certificate.spec.get("secretTemplate") or {}).get("annotations")) or {}
        if f"{REFLECTOR}reflection-auto-enabled" not in annotations:
            continue
        if not _maybe(annotations.get(f"{REFLECTOR}reflection-allowed"), "true"):
            yield certificate, 'reflection-auto-enabled needs reflection-allowed: "true"'
        allowed_text = annotations.get(f"{REFLECTOR}reflection-allowed-namespaces")
        allowed = _split(allowed_text) if is_known(allowed_text) else set()  # unknown: it may allow them all
        auto_text = annotations.get(f"{REFLECTOR}reflection-auto-namespaces")
        auto = _split(auto_text) if is_known(auto_text) else set()
        missing = sorted(n for n in auto if allowed and not any(re.fullmatch(a, n) for a in allowed))
        if missing:
            yield certificate, f"reflection-allowed-namespaces misses {missing} ('does not permit it'): add them"


@rule("H2", "warning", "a CA's key is not copied around", per_object=True)
def ca_not_replicated(view: StackView) -> Findings:
    for certificate in _certificates(view):
        annotations = ((certificate.spec.get("secretTemplate") or {}).get("annotations")) or {}
        copied = any(
            k.startswith((REFLECTOR, "replicator.v1.mittwald.de/", "kubed.appscode.com/")) for k in annotations
        )
        if certificate.spec.get("isCA") and copied:
            yield certificate, "copying a CA Secret copies its key: distribute ca.crt with trust-manager instead"


_PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


# A key names a credential when its last word does (API_TOKEN, dbPassword, secretKey, clientSecret, kubeconfig);
# key material is found by its PEM header instead (a `privateKey` is a file path in Istio, settings in cert-manager);
# references to secrets (secretName, credentialName, tokenSecretRef) end in another word.
_CREDENTIAL_KEY = re.compile(
    r"(password|passwd|passphrase|token|apikey|accesskey|secretkey|secretid|clientsecret|kubeconfig)$"
)


def _is_credential_key(key: object) -> bool:
    return bool(_CREDENTIAL_KEY.search(re.sub(r"[^a-z0-9]", "", str(key).lower())))


def _filled(item: object) -> bool:
    # An unknown leaf (a secret offline, a value preview does not know) proves nothing (issue 19)
    return isinstance(item, str) and bool(item) and item != REDACTED and is_known(item)


def _plain_secrets(value, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        # An environment variable ({name: API_TOKEN, value: ...}) names its credential in `name`.
        if _is_credential_key(value.get("name", "")) and _filled(value.get("value")):
            yield f"{path}.value" if path else "value"
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _filled(item) and _is_credential_key(key):
                yield here
            yield from _plain_secrets(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _plain_secrets(item, f"{path}[{i}]")
    elif isinstance(value, str) and _PEM_KEY.search(value):
        yield path


@rule("I1", "error", "no key material or credentials in plain resource inputs")
def no_plain_secrets(view: StackView) -> Findings:
    for resource, inputs in sorted(view.plain_inputs.items()):
        for path in _plain_secrets(inputs):
            yield (
                f"resource {resource}",
                f"{path} holds a credential in plain text: pass it as a Pulumi secret or a Secret reference",
            )


_NOT_YAML = object()


def _text_document(text: str) -> Any:
    """A document held as text (kubesphere.yaml in a ConfigMap), in any YAML syntax, flow and JSON included, read
    within the stack reader's bounds; _NOT_YAML when it is not one."""
    from ...stackfile import StackFileError, load_bounded

    if not is_known(text):
        return _NOT_YAML
    try:
        return load_bounded(text, strict_keys=False)
    except (StackFileError, yaml.YAMLError):
        return _NOT_YAML


def _skips_verification(value) -> bool:
    if isinstance(value, dict):
        return value.get("insecureSkipVerify") is True or any(_skips_verification(v) for v in value.values())
    if isinstance(value, list):
        return any(_skips_verification(v) for v in value)
    if not isinstance(value, str) or "insecureSkipVerify" not in value:
        return False
    document = _text_document(value)
    if document is _NOT_YAML:
        return bool(re.search(r"""["']?insecureSkipVerify["']?\s*:\s*["']?true""", value))
    return isinstance(document, (dict, list)) and _skips_verification(document)


@rule("V1", "warning", "TLS clients verify the server")
def tls_verification_on(view: StackView) -> Findings:
    for component, outputs in sorted(view.outputs.items()):
        if isinstance(outputs, dict) and outputs.get("insecure") is True:
            yield (
                f"component {component}",
                "its clients skip certificate verification (insecureSkipVerify): verify against the CA",
            )
    for resource, inputs in sorted(view.plain_inputs.items()):
        if _skips_verification(inputs):
            yield f"resource {resource}", "sets insecureSkipVerify: true: verify against the CA instead"


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


@rule("V2", "warning", "an https endpoint in kubesphere.yaml names the CA it trusts")
def kubesphere_https_has_a_ca(view: StackView) -> Findings:
    from ...components.kubesphere_config import TARGETS  # kubesphere.yaml's clients of Whizard

    for config in view.of("ConfigMap"):
        text = (config.body.get("data") or {}).get("kubesphere.yaml")
        document = _text_document(text) if isinstance(text, str) and text != REDACTED else _NOT_YAML
        for endpoint_path, tls_path in TARGETS if document is not _NOT_YAML else ():
            endpoint, tls = _at(document, endpoint_path), _at(document, tls_path) or {}
            if isinstance(endpoint, str) and endpoint.startswith("https://") and isinstance(tls, dict):
                if not tls.get("caFile") and tls.get("insecureSkipVerify") is not True:
                    yield (
                        config,
                        f"{'.'.join(endpoint_path)} is https with no tlsConfig.caFile: KubeSphere verifies it against "
                        "the system roots, which a private CA's certificate fails ('certificate signed by unknown "
                        "authority'); set caFile to the CA it is issued from",
                    )
