"""The typed configuration of a stack (`stacks/Pulumi.<stack>.yaml`), validated before anything is registered.

Each top-level key `cluster-tls:<key>` is one model: a component's Args, or a stack-wide setting (cert-manager,
the Kubernetes provider, namespaces, production). One definition feeds the component, the stack file and the
error messages. Secrets: every value that Pulumi hands over as secret is collected, so that it stays a secret
wherever it lands (see components/secret_guard.py) and never shows in an error message.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from cluster_tls.components.base import ComponentArgs
from cluster_tls.components.certmanager.install import CertManagerInstallArgs
from cluster_tls.components.context import ClusterContext
from cluster_tls.components.dnspod import DnspodWildcardArgs
from cluster_tls.components.echo import shown
from cluster_tls.components.helm import ChartMirror
from cluster_tls.components.hubble import HubbleTLSArgs
from cluster_tls.components.inputs import is_secret_annotation
from cluster_tls.components.istio_gateway import IstioHTTPSGatewayArgs
from cluster_tls.components.model import (
    ArgsError,
    DnsLabel,
    ObjectName,
    Spec,
    Vocabulary,
    fields_along,
    model_in,
    repeated,
)
from cluster_tls.components.names import BUILT_IN_NAMESPACES
from cluster_tls.components.secret_guard import SecretGuard
from cluster_tls.components.selfsigned_ca import SelfSignedCAChainArgs
from cluster_tls.components.whizard import WhizardTLSArgs
from cluster_tls.stackfile import (
    OFFLINE,
    OFFLINE_SECRET_PLACEHOLDER,
    Project,
    StackFileError,
    secure_paths,
    stack_entries,
)

PROJECT = "cluster-tls"
REDACTED = "[secret]"


class KubernetesSettings(Spec):
    context: str | None = Field(
        default=None, description="kubeconfig context for an explicit provider; unset uses the ambient kubeconfig."
    )
    kubeconfig: SecretStr | None = Field(
        default=None,
        description="kubeconfig contents for an explicit provider. It holds credentials: store it with "
        "`pulumi config set --secret --path kubernetes.kubeconfig`. Unset uses KUBECONFIG or ~/.kube/config.",
    )

    @property
    def explicit(self) -> bool:
        return self.context is not None or self.kubeconfig is not None


class CertManagerSettings(CertManagerInstallArgs):
    install: bool = Field(
        default=True, description="Install cert-manager with Helm; false uses an existing install in `namespace`."
    )


class NamespaceSettings(Spec):
    """Namespaces the stack writes into: each is created by the stack or declared to exist already."""

    create: list[DnsLabel] = Field(default_factory=list, description="Namespaces this stack creates.")
    existing: list[DnsLabel] = Field(
        default_factory=list, description="Namespaces that must exist before `pulumi up` (not managed here)."
    )

    @model_validator(mode="after")
    def _disjoint(self) -> NamespaceSettings:
        both = sorted(set(self.create) & set(self.existing))
        if both:
            raise ValueError(f"{both} are listed both in create and in existing")
        for field, names in (("create", self.create), ("existing", self.existing)):
            dupes = repeated(names)
            if dupes:
                raise ValueError(f"{field} lists {dupes} more than once")
        built_in = [n for n in self.create if n in BUILT_IN_NAMESPACES]
        if built_in:  # a created Namespace is the stack's: `pulumi destroy` would delete it, and all it holds
            raise ValueError(
                f"create lists {built_in[0]!r}, which Kubernetes creates: the stack would own it and delete it on "
                "destroy; list it under existing"
            )
        return self


class Waiver(Spec):
    rule: str = Field(min_length=1, description="Preflight rule id, e.g. NGINX.")
    reason: str = Field(min_length=10, description="Why the rule does not apply here (shown with every finding).")


class PreflightSettings(Spec):
    waive: list[Waiver] = Field(default_factory=list, description="Rules waived for this stack, each with a reason.")


class StackConfig(Spec):
    production: bool = Field(default=False, description="This stack serves production.")
    charts: ChartMirror | None = Field(
        default=None,
        description="A chart mirror or OCI registry serving every chart the stack installs (cert-manager, the DNSPod "
        "webhook, the Istio gateway, Cilium); a release whose own repository is set keeps it.",
    )
    preflight: PreflightSettings = Field(default_factory=PreflightSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    cert_manager: CertManagerSettings = Field(default_factory=CertManagerSettings)
    namespaces: NamespaceSettings = Field(default_factory=NamespaceSettings)
    private_ca: SelfSignedCAChainArgs | None = Field(
        default=None, description="A private CA chain (SelfSignedCAChain)."
    )
    dnspod: DnspodWildcardArgs | None = Field(
        default=None, description="Let's Encrypt wildcard through DNSPod DNS-01 (DnspodWildcard)."
    )
    whizard: WhizardTLSArgs | None = Field(default=None, description="HTTPS for KubeSphere Whizard (WhizardTLS).")
    istio_gateway: IstioHTTPSGatewayArgs | None = Field(
        default=None, description="HTTPS at the Istio ingress gateway (IstioHTTPSGateway)."
    )
    hubble: HubbleTLSArgs | None = Field(default=None, description="Cilium Hubble mutual TLS (HubbleTLS).")

    @model_validator(mode="after")
    def _one_chart_mirror(self) -> StackConfig:
        if self.cert_manager.chart_mirror is not None:
            raise ValueError(
                f"{PROJECT}:certManager.chartMirror: the stack's chart mirror is {PROJECT}:charts, for every release"
            )
        return self

    @model_validator(mode="after")
    def _namespaces_not_made_twice(self) -> StackConfig:
        namespace = self.cert_manager.namespace
        if self.cert_manager.install and namespace in self.namespaces.create:
            # The release creates its namespace (createNamespace) with no ordering against the stack's Namespace.
            raise ValueError(
                f"{PROJECT}:namespaces.create lists {namespace!r}, which the cert-manager Helm release creates "
                f"({PROJECT}:certManager.namespace): remove it from namespaces.create"
            )
        return self

    def cert_manager_args(self) -> CertManagerInstallArgs:
        """cert-manager's settings: the user's, plus what enabled components need where the user set nothing."""
        settings = self.cert_manager
        defaults: dict[str, Any] = {}
        # Only a cert-manager this stack installs takes the components' defaults: of an existing one the stack
        # knows only what its config declares (issue 29: D4 was silent, the defaults claiming resolvers nobody set).
        for name in type(self).model_fields if settings.install else ():
            component = getattr(self, name)
            if isinstance(component, ComponentArgs):
                for key, value in component.cert_manager_defaults().items():
                    if key not in settings.model_fields_set:
                        defaults.setdefault(key, value)
        if self.charts is not None:
            defaults["chart_mirror"] = self.charts
        return CertManagerInstallArgs.model_validate(
            {**settings.model_dump(exclude={"install"}, exclude_unset=True, by_alias=False), **defaults}
        )

    def context(self) -> ClusterContext:
        return ClusterContext(
            cert_manager=self.cert_manager_args().ref(), production=self.production, chart_mirror=self.charts
        )


class StackConfigError(pulumi.RunError):
    """Bad stack config: every problem, each naming the stack, the key path and the value."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        super().__init__(f"stack {stack!r} has invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class LoadedStack:
    config: StackConfig
    guard: SecretGuard  # every secret string of this stack's config
    secret_leaves: tuple[tuple[tuple[str, ...], str], ...] = ()  # (key path, value) of each secret free-text value

    def secrets_in_names(self, names: list[str]) -> list[str]:
        """Problems for secret values that an object name or namespace of the stack holds as a word (names are
        never secret: the secret would be applied in plain text, e.g. a secret `cert-manager`)."""
        problems = []
        for loc, value in self.secret_leaves:
            one = SecretGuard([value])
            if any(one.contains(name) for name in names):
                problems.append(
                    f"{key_path(list(loc))}: holds a secret value that an object name or namespace of this stack "
                    "holds too, and names are never secret; choose another value, or store it in plain text"
                )
        return problems

    def error(self, problems: list[str]) -> StackConfigError:
        return StackConfigError(pulumi.get_stack(), [self.guard.redact(p) for p in problems])


def _known_keys(parents: list[str]) -> list[str]:
    """The keys allowed beside an unknown key at `parents` (alias path), for a "did you mean" hint."""
    model: type[BaseModel] | None = StackConfig
    for key in parents:
        fields = {(f.alias or n): f for n, f in model.model_fields.items()} if model else {}
        model = model_in(fields[key].annotation) if key in fields else None
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def key_path(loc: list[str] | tuple[str, ...]) -> str:
    """`cluster-tls:hubble.relay.extraDnsNames[0]` from a validation error's location."""
    head, *rest = [shown(str(part), 60) for part in loc] or [""]
    return f"{PROJECT}:{head}" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest)


def _show(value: Any, secret: bool) -> str:
    if secret:
        return REDACTED
    if not isinstance(value, str):
        return json.dumps(value)[:80]
    # repr escapes control and format characters; a long value is cut (a 2,000,000-character one, issue 19)
    return repr(value[:80]) + (f"... ({len(value) - 80} more characters)" if len(value) > 80 else "")


def _holds_secret(loc: list[str], secret_keys: set[str], paths: dict[str, list[tuple[str, ...]]]) -> bool:
    """Whether the value at `loc` is, or holds, a secret: the whole key when it was set as one secret, else only
    the fields that are `secure:` in the stack file (the others stay reviewable, issue 20)."""
    if not loc or loc[0] not in secret_keys:
        return False
    inner = paths.get(f"{PROJECT}:{loc[0]}")
    if not inner:
        return True
    rest = tuple(loc[1:])
    return any(rest[: len(path)] == path or path[: len(rest)] == rest for path in inner)


def _format_errors(
    error: ValidationError, secret_keys: set[str], paths: dict[str, list[tuple[str, ...]]] | None = None
) -> list[str]:
    problems = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        path = key_path(loc)
        secret = _holds_secret(loc, secret_keys, paths or {})
        if item["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(loc[-1][:100], _known_keys(loc[:-1]), n=1)
            message = "unknown key" + (f"; did you mean '{key_path([*loc[:-1], hint[0]])}'?" if hint else "")
            problems.append(f"{path}: {message}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        value = item.get("input")
        if isinstance(value, str) and value.startswith(OFFLINE_SECRET_PLACEHOLDER):
            # a `secure:` value read offline without the passphrase: its placeholder is no domain, e-mail or host
            problems.append(
                f"{path}: is secret and cannot be read offline without the stack's passphrase: set "
                "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), as for `pulumi preview`"
            )
            continue
        scalar = isinstance(value, (str, int, float, bool)) or value is None
        shown = f" (got {_show(value, secret)})" if scalar and item["type"] != "missing" else ""
        # A rule across keys (StackConfig's own validators) names its keys in its message.
        problems.append(f"{path}: {message}{shown}" if loc else message)
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


def _stood_in(model: BaseModel, path: tuple[str, ...]) -> bool:
    """Whether the secret field at `path` holds the offline stand-in for a secret the stack file does not set."""
    value: Any = model
    for alias in path:
        name = next((n for n, f in type(value).model_fields.items() if (f.alias or n) == alias), alias)
        value = getattr(value, name)
    return isinstance(value, SecretStr) and value.get_secret_value().startswith(OFFLINE_SECRET_PLACEHOLDER)


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _secure_paths_on_disk(project: str) -> dict[str, list[tuple[str, ...]]]:
    """Which fields inside each secret key are `secure:` in this stack's file (the CLI only says which keys).

    Pulumi runs the program in the project folder, so the stack file is found from there. Without it (config
    from an ESC environment, say) every string of a secret key counts as secret.
    """
    try:
        found = Project.find(Path.cwd(), search_up=False)
        if found.name != project:
            return {}
        return secure_paths(stack_entries(found, pulumi.get_stack()), project)
    except (StackFileError, OSError):
        return {}


def _words(annotation: Any) -> set[str] | None:
    """The package's own words a field takes (`Literal[...]`, an enum, a StackKey), or None for free text."""
    if get_origin(annotation) is Literal:
        return {str(a) for a in get_args(annotation)}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return {str(member.value) for member in annotation}
    if get_origin(annotation) is Annotated:
        if any(isinstance(m, Vocabulary) for m in annotation.__metadata__):
            return {f.alias or n for n, f in StackConfig.model_fields.items()}
        return _words(get_args(annotation)[0])
    options = [_words(a) for a in get_args(annotation) if a is not type(None)]  # `X | None`, `list[X]`
    return set().union(*options) if options and None not in options else None


def _names_objects(annotation: Any) -> bool:
    """Whether a field's type is (or holds) an ObjectName: a name, which is never secret."""
    if get_origin(annotation) is Annotated:
        return any(isinstance(m, ObjectName) for m in annotation.__metadata__) or _names_objects(
            get_args(annotation)[0]
        )
    return any(_names_objects(a) for a in get_args(annotation))


def _is_name_field(field: Any) -> bool:
    return any(isinstance(m, ObjectName) for m in field.metadata) or _names_objects(field.annotation)


def _free_text(value: Any, loc: tuple[str, ...]) -> list[str]:
    """The strings of a secret key or field, but for the package's own words: a choice such as `dnspod` or
    `ClusterIssuer` is a word of the package's names and templates (`cert-manager-webhook-dnspod`), which no
    matching could keep secret without hiding the package's own text (issue 19). The choice itself stays
    encrypted in the stack file and secret in Pulumi's config; a value that is no such word stays free text."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _free_text(v, (*loc, str(k)))]
    if isinstance(value, list):
        return [s for v in value for s in _free_text(v, loc)]
    if not isinstance(value, str):
        return []
    along = fields_along(StackConfig, loc)
    if along and len(along) == len(loc) and _is_name_field(along[-1]):
        return []  # an object name in a key encrypted as a whole: names are never secret (ObjectName)
    words = _words(along[-1].annotation) if along and len(along) == len(loc) else None
    return [] if words is not None and value in words else [value]


def secret_strings(raw: dict[str, Any], secret_keys: set[str], paths: dict[str, list[tuple[str, ...]]]) -> list[str]:
    values: list[str] = []
    for key in secret_keys:
        inner = paths.get(f"{PROJECT}:{key}")
        for path in inner or [()]:
            values += _free_text(_at(raw[key], path), (key, *path))
    return values


def read_raw_config(project: str = PROJECT) -> tuple[dict[str, Any], set[str], list[str]]:
    """All `<project>:<key>` config values of this stack (objects decoded), the secret keys, and problems:
    keys under a misspelled project prefix (`cluster_tls:privateCa`), which Pulumi would pass on silently."""
    prefix = f"{project}:"
    raw_values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_full_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    raw: dict[str, Any] = {}
    secret_keys = set()
    problems = []
    for full_key in sorted(raw_values):
        namespace, _, key = full_key.partition(":")
        if namespace != project:
            near = difflib.SequenceMatcher(None, namespace.lower(), project).ratio() >= 0.8
            if near:
                problems.append(f"{full_key}: unknown config namespace {namespace!r}; did you mean '{prefix}{key}'?")
            continue
        value = raw_values[full_key]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        raw[key] = value
        if full_key in secret_full_keys:
            secret_keys.add(key)
    return raw, secret_keys, problems


def _opaque_offline_secrets(raw: dict[str, Any], secret_keys: set[str]) -> list[str]:
    """A key encrypted as a whole (`pulumi config set --secret kubernetes '{...}'`) cannot be read offline.

    The Kubernetes settings then stand for "an explicit provider with secret settings"; any other such key
    cannot be evaluated without its structure.
    """
    problems = []
    for key in sorted(secret_keys):
        if not (isinstance(raw[key], str) and raw[key].startswith(OFFLINE_SECRET_PLACEHOLDER)):
            continue
        if key == "kubernetes":
            raw[key] = {"kubeconfig": raw[key]}
        else:
            problems.append(
                f"{key_path([key])}: is encrypted as a whole, so it cannot be read offline; encrypt only the "
                f"secret fields inside it (`pulumi config set --secret --path {key}.<field> ...`)"
            )
    return problems


def _field_at(loc: tuple) -> Any:
    """The pydantic field a validation error location points at, if it names one."""
    along = fields_along(StackConfig, loc)
    return along[-1] if along and len(along) == sum(not isinstance(p, int) for p in loc) else None


def _secret_stand_in(annotation: Any) -> Any:
    """The placeholder for a missing secret field, or a mapping of them for a model of only secret fields."""
    if is_secret_annotation(annotation):
        return OFFLINE_SECRET_PLACEHOLDER
    model = model_in(annotation)
    if model is None:
        return None
    required = {(f.alias or n): f for n, f in model.model_fields.items() if f.is_required()}
    if not required or any(not is_secret_annotation(f.annotation) for f in required.values()):
        return None
    return dict.fromkeys(required, OFFLINE_SECRET_PLACEHOLDER)


def _missing_secrets(error: ValidationError) -> list[tuple[tuple, Any]]:
    """Locations of required secret fields (or all-secret sections) that are not set, with their stand-ins."""
    found = []
    for item in error.errors():
        field = _field_at(item["loc"]) if item["type"] == "missing" else None
        stand_in = _secret_stand_in(field.annotation) if field is not None else None
        if stand_in is not None:
            found.append((item["loc"], stand_in))
    return found


def _stand_in_for_missing_secrets(raw: dict[str, Any], error: ValidationError, secret_keys: set[str]) -> bool:
    """Offline only: a required secret nobody has set here (it lives in the operators' config) renders as
    [secret] instead of stopping the review of everything else. `pulumi up` still requires it."""
    missing = _missing_secrets(error)
    for loc, stand_in in missing:
        tree = raw
        for part in loc[:-1]:
            tree = tree[part] if isinstance(tree, dict) else tree[int(part)]
        tree[loc[-1]] = stand_in
        secret_keys.add(str(loc[0]))
    return bool(missing)


def _secret_names(paths: dict[str, list[tuple[str, ...]]]) -> list[str]:
    """Fields set one by one with `--secret` that name objects: refused, since the name would be applied in plain
    text all the same (a key encrypted as a whole keeps its names plain instead, see _free_text)."""
    problems = []
    for full_key, inner in sorted(paths.items()):
        key = full_key.split(":", 1)[1]
        for path in inner:
            loc = (key, *path)
            along = fields_along(StackConfig, loc)
            named = [p for p in loc if not str(p).isdigit()]
            if along and len(along) == len(named) and _is_name_field(along[-1]):
                problems.append(
                    f"{key_path(list(loc))}: names an object, and a name is never secret (it is in the object's "
                    f"path, every reference to it and `kubectl get`); store it in plain text: "
                    f"`pulumi config set --path {key_path(list(loc)).split(':', 1)[1]} <value>`"
                )
    return problems


def _leaves(value: Any, loc: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*loc, str(k)))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*loc, str(i)))]
    return [(loc, value)] if isinstance(value, str) else []


def _secret_leaves(
    raw: dict[str, Any], secret_keys: set[str], paths: dict[str, list[tuple[str, ...]]]
) -> list[tuple[tuple[str, ...], str]]:
    """(key path, value) of every string set with `--secret --path` (not names, not the package's words). A key
    encrypted as a whole is left out: its every string counts as secret, a broader intent than these checks judge."""
    per_path = [key for key in raw if paths.get(f"{PROJECT}:{key}") and () not in paths[f"{PROJECT}:{key}"]]
    leaves = [leaf for key in per_path for leaf in _leaves(raw[key], (key,))]
    return [
        (loc, v)
        for loc, v in leaves
        if _holds_secret(list(loc), secret_keys, paths) and _free_text(v, tuple(p for p in loc if not p.isdigit()))
    ]


def _secrets_shown_in_plain(
    raw: dict[str, Any], secret_keys: set[str], paths: dict[str, list[tuple[str, ...]]]
) -> list[str]:
    """A secret that a plain-text value of the same stack file also holds (a secret domain beside a plain host
    `shop.<domain>`, a secret common name equal to a plain Secret name) is public already: refused, naming both
    keys, so that the user encrypts the other one too (or neither)."""
    secret = _secret_leaves(raw, secret_keys, paths)
    leaves = [leaf for key, value in raw.items() for leaf in _leaves(value, (key,))]
    words = SecretGuard([v for _, v in secret])
    if not words.secrets:
        return []
    problems = []
    for loc, value in leaves:
        if (loc, value) in secret or not words.contains(value):
            continue
        source = next(s for s, v in secret if SecretGuard([v]).contains(value))
        problems.append(
            f"{key_path(list(loc))}: is plain text but holds the secret value of {key_path(list(source))}; set it "
            f"with `pulumi config set --secret --path {key_path(list(loc)).split(':', 1)[1]} ...` too"
        )
    return problems


def load_stack(project: str = PROJECT) -> LoadedStack:
    stack = pulumi.get_stack()
    raw, secret_keys, problems = read_raw_config(project)
    paths = _secure_paths_on_disk(project)
    guard = SecretGuard(secret_strings(raw, secret_keys, paths))
    secret_leaves = tuple(_secret_leaves(raw, secret_keys, paths))  # before offline stand-ins join the secrets
    problems += _opaque_offline_secrets(raw, secret_keys)
    problems += _secret_names(paths)
    problems += _secrets_shown_in_plain(raw, secret_keys, paths)
    try:
        config = StackConfig.model_validate(raw)
    except ArgsError as refused:
        config, error = None, refused.validation
        if OFFLINE.get() and _stand_in_for_missing_secrets(raw, error, secret_keys):
            guard = SecretGuard([*guard.secrets, OFFLINE_SECRET_PLACEHOLDER])
            try:
                config = StackConfig.model_validate(raw)
            except ArgsError as again:
                error = again.validation
        if config is None:
            problems += _format_errors(error, secret_keys, paths)
    if config is not None:
        problems += [
            f"{PROJECT}:{'.'.join(path)}: holds a secret but is stored in plain text; store it with "
            f"`pulumi config set --secret --path {'.'.join(path)} ...`"
            for path in _secret_fields_set(config)
            # a plain field beside a `secure:` sibling is plain too (issue 31), unless the CLI or the offline
            # stand-in for an unset secret gave it
            if not _holds_secret(list(path), secret_keys, paths) and not _stood_in(config, path)
        ]
    if problems:
        raise StackConfigError(stack, [guard.redact(p) for p in problems])
    return LoadedStack(config, guard, secret_leaves)


def load_stack_config() -> StackConfig:
    return load_stack().config
