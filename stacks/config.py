"""The typed configuration of a stack (`stacks/Pulumi.<stack>.yaml`), validated before anything is registered.

Each top-level key `cluster-tls:<key>` is one component's Args model, so one definition feeds the
component, the stack file and the error messages.
"""

from __future__ import annotations

import difflib
import json
import typing
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from components.certmanager.install import CertManagerInstallArgs
from components.hubble import HubbleTLSArgs
from components.model import Spec
from components.selfsigned_ca import SelfSignedCAChainArgs

PROJECT = "cluster-tls"
REDACTED = "[secret]"


class KubernetesSettings(Spec):
    context: str | None = Field(
        None, description="kubeconfig context for an explicit provider; unset uses the ambient kubeconfig."
    )
    kubeconfig: SecretStr | None = Field(
        None,
        description="kubeconfig contents for an explicit provider. It holds credentials: store it with "
        "`pulumi config set --secret --path kubernetes.kubeconfig`. Unset uses KUBECONFIG or ~/.kube/config.",
    )

    @property
    def explicit(self) -> bool:
        return self.context is not None or self.kubeconfig is not None


class CertManagerSettings(CertManagerInstallArgs):
    install: bool = Field(
        True, description="Install cert-manager with Helm; false uses an existing install in `namespace`."
    )

    def install_args(self) -> CertManagerInstallArgs:
        return CertManagerInstallArgs.model_validate(self.model_dump(exclude={"install"}))


class StackConfig(Spec):
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    cert_manager: CertManagerSettings = Field(default_factory=CertManagerSettings)
    private_ca: SelfSignedCAChainArgs | None = Field(None, description="A private CA chain (SelfSignedCAChain).")
    hubble: HubbleTLSArgs | None = Field(None, description="Cilium Hubble mutual TLS (HubbleTLS).")

    @model_validator(mode="before")
    @classmethod
    def _cluster_resource_namespace_follows_cert_manager(cls, data: Any) -> Any:
        """ClusterIssuer chains default to the cluster-resource namespace of this stack's cert-manager."""
        if not isinstance(data, dict):
            return data
        cert_manager = data.get("certManager") or {}
        if not isinstance(cert_manager, dict):
            return data
        crn = cert_manager.get("clusterResourceNamespace") or cert_manager.get("namespace")
        if not crn:
            return data
        data = dict(data)
        private_ca = data.get("privateCa")
        if isinstance(private_ca, dict) and "clusterResourceNamespace" not in private_ca:
            data["privateCa"] = {**private_ca, "clusterResourceNamespace": crn}
        hubble = data.get("hubble")
        if (
            isinstance(hubble, dict)
            and isinstance(hubble.get("ca"), dict)
            and "clusterResourceNamespace" not in hubble["ca"]
        ):
            data["hubble"] = {**hubble, "ca": {**hubble["ca"], "clusterResourceNamespace": crn}}
        return data


class StackConfigError(pulumi.RunError):
    """Bad stack config: every problem, each naming the stack, the key path and the value."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        super().__init__(f"stack {stack!r} has invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, typing.get_args(annotation)) if m is not None), None)


def _known_keys(parents: list[str]) -> list[str]:
    """The keys allowed beside an unknown key at `parents` (alias path), for a "did you mean" hint."""
    model: type[BaseModel] | None = StackConfig
    for key in parents:
        fields = {(f.alias or n): f for n, f in model.model_fields.items()} if model else {}
        model = _model_in(fields[key].annotation) if key in fields else None
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _key_path(loc: list[str]) -> str:
    """`cluster-tls:hubble.relay.extraDnsNames[0]` from a validation error's location."""
    head, *rest = loc or [""]
    return f"{PROJECT}:{head}" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest)


def _show(value: Any, secret: bool) -> str:
    if secret:
        return REDACTED
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def _format_errors(error: ValidationError, secret_keys: set[str]) -> list[str]:
    problems = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        top = loc[0] if loc else ""
        path = _key_path(loc)
        secret = top in secret_keys
        if item["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(loc[-1], _known_keys(loc[:-1]), n=1)
            message = "unknown key" + (f"; did you mean '{_key_path([*loc[:-1], hint[0]])}'?" if hint else "")
            problems.append(f"{path}: {message}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        value = item.get("input")
        scalar = isinstance(value, (str, int, float, bool)) or value is None
        shown = f" (got {_show(value, secret)})" if scalar and item["type"] != "missing" else ""
        problems.append(f"{path}: {message}{shown}")
    return problems


def _secret_fields_set(model: BaseModel, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Alias paths of every SecretStr field that has a value, anywhere in the model."""
    found = []
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        alias = (*path, field.alias or name)
        if isinstance(value, SecretStr):
            found.append(alias)
        elif isinstance(value, BaseModel):
            found += _secret_fields_set(value, alias)
    return found


def read_raw_config(project: str = PROJECT) -> tuple[dict[str, Any], set[str]]:
    """All `<project>:<key>` config values of this stack, with objects decoded, and the secret keys."""
    prefix = f"{project}:"
    raw_values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_full_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    raw: dict[str, Any] = {}
    secret_keys = set()
    for full_key in sorted(raw_values):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        value = raw_values[full_key]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        raw[key] = value
        if full_key in secret_full_keys:
            secret_keys.add(key)
    return raw, secret_keys


def load_stack_config() -> StackConfig:
    stack = pulumi.get_stack()
    raw, secret_keys = read_raw_config()
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError as error:
        raise StackConfigError(stack, _format_errors(error, secret_keys)) from None
    plain = [path for path in _secret_fields_set(config) if path[0] not in secret_keys]
    if plain:
        raise StackConfigError(
            stack,
            [
                f"{PROJECT}:{'.'.join(path)}: holds a secret but is stored in plain text; store it with "
                f"`pulumi config set --secret --path {'.'.join(path)} ...`"
                for path in plain
            ],
        )
    return config
