"""Base model and validated field types shared by every Args and spec model.

Models are frozen and forbid unknown keys, so a typo in stack YAML is an error rather than a silent default.
Field names are snake_case in Python and camelCase in YAML and in Kubernetes manifests.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Annotated, Any, Self

from publicsuffixlist import PublicSuffixList
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SecretStr,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import inputs
from .durations import parse_go_duration
from .echo import shown


def repeated(items: Iterable[Hashable]) -> list[Any]:
    """The items that occur more than once, sorted: in linear time (3,000 hosts, issue 20)."""
    return sorted(item for item, count in Counter(items).items() if count > 1)


def validation_problems(error: ValidationError | ArgsError) -> list[tuple[str, str, Any]]:
    """Each problem of a ValidationError as (field path, message, the value given), never pydantic's multi-line
    dump with its `[type=..., input_value=...]` (issue 18)."""
    if isinstance(error, ArgsError):
        error = error.validation
    problems = []
    for problem in error.errors(include_url=False):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"]).lstrip(".")
        value = problem.get("input")
        if inputs.is_output(value):
            message = inputs.FOREIGN_OUTPUT
        elif problem["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        problems.append((path, message, value))
    return problems


class ArgsError(Exception):
    """Args refused, one line per problem: the model, the field path, what is wrong and the value given (unless it
    is a secret), instead of pydantic's dump of three lines a problem (issue 20). Raised by the outermost model's
    `__init__`/`model_validate` (Spec); a model built inside another's validation reports through that one."""

    def __init__(self, model: type[BaseModel], validation: ValidationError):
        self.validation = validation
        self.title = model.__name__
        lines = []
        for problem, (path, message, value) in zip(validation.errors(), validation_problems(validation), strict=True):
            along = fields_along(model, problem["loc"])
            secret = any(inputs.is_secret_annotation(f.annotation) for f in along) or isinstance(value, SecretStr)
            origin = "" if secret else _which_output(value, along)
            if secret:
                got = ""
            elif isinstance(value, str | int | float):
                got = f" (got {shown(repr(value))}{origin})"
            elif value is not None and not isinstance(value, dict | list | tuple):
                got = f" (got {type(value).__name__}{origin})"  # a component, a context, another model
            else:
                got = f" (got{origin.removeprefix(';')})" if origin else ""
            lines.append(f"{self.title}.{path or '(the arguments)'}: {message}{got}")
        self.lines = lines
        super().__init__("\n".join(lines))

    def errors(self) -> list[Any]:
        return list(self.validation.errors())


def _which_output(value: Any, along: list[Any]) -> str:
    """Where the value came from, when it was a cluster-tls output of the wrong kind, and which output of that
    component would fit the field (issue 31: such refusals gave no value and no hint)."""
    given = inputs.given_output(value)
    if given is None or not along:
        return ""
    source, attribute = given
    name = getattr(source, "_resource_name", "")
    owner = f"{type(source).__name__} {name!r}" if name else type(source).__name__
    fits = TypeAdapter(along[-1].annotation)
    for other, known in inputs.known_outputs_of(source).items():
        if other == attribute:
            continue
        try:
            fits.validate_python(known)
        except (ValidationError, TypeError, ValueError):
            continue
        return f"; the output `{attribute}` of {owner}: did you mean its `{other}`?"
    return f"; the output `{attribute}` of {owner}, which is not what this field takes"


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (`X | None`, `list[X]`, ...), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(model_in, getattr(annotation, "__args__", ())) if m is not None), None)


def fields_along(model: type[BaseModel], loc: tuple[int | str, ...] | list[Any]) -> list[Any]:
    """The fields a validation error's location passes through, by name or alias (list indices skipped: the
    item's model is the list's); it stops where the location names no field."""
    found: list[Any] = []
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = current.model_fields if current is not None else {}
        field = next((f for n, f in fields.items() if str(part) in (n, f.alias)), None)
        if field is None:
            break
        found.append(field)
        current = model_in(field.annotation)
    return found


class Spec(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        validate_default=True,
        defer_build=True,
    )
    _given_by: tuple[Any, ...] = PrivateAttr(default=())

    # Both entries a model is built by, for one refusal in one ArgsError and the components whose outputs the
    # args were given (components/inputs.py). Subclasses keep the `__init__` pydantic and type checkers derive
    # from their fields: this one is Spec's own.
    def __init__(self, /, **data: Any) -> None:
        with inputs.collecting() as sources:
            try:
                super().__init__(**data)
            except ValidationError as error:
                if sources is None:  # built inside another model's validation: that one reports it
                    raise
                raise ArgsError(type(self), error) from None
        self._given_by = tuple(dict.fromkeys([*(sources or ()), *_nested_given_by(self)]))

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        with inputs.collecting() as sources:
            try:
                instance = super().model_validate(obj, *args, **kwargs)
            except ValidationError as error:
                if sources is None:
                    raise
                raise ArgsError(cls, error) from None
        nested = _nested_given_by(instance)
        if (sources or nested) and instance is not obj:
            instance._given_by = tuple(dict.fromkeys([*(sources or ()), *nested]))
        return instance

    @model_validator(mode="before")
    @classmethod
    def _known_outputs(cls, value: Any) -> Any:
        """Outputs of cluster-tls components take the values they are known to resolve to (components/inputs.py)."""
        return inputs.substitute(value)

    def given_by(self) -> list[Any]:
        """The components whose outputs these args were given: what the component must come after."""
        return list(self._given_by)

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, value: Any) -> Any:
        """`issuer_from` and `issuerFrom` are one field: each spelling alone is accepted, both at once refused, as
        `privateCa` next to `cluster-tls:privateCa` is (issue 20). Otherwise pydantic would keep one silently."""
        if isinstance(value, dict):
            for name, field in cls.model_fields.items():
                alias = field.alias or name
                if alias != name and name in value and alias in value:
                    raise ValueError(f"{name!r} and {alias!r} are one field: give it once")
        return value

    @classmethod
    def coerce(cls, value: Any):
        """Accept an instance or a plain dict (how stack config and other languages' callers pass args)."""
        return value if isinstance(value, cls) else cls.model_validate(value)

    def manifest(self) -> dict[str, Any]:
        """The camelCase form used in Kubernetes objects, without unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _nested_given_by(model: BaseModel) -> list[Any]:
    """The components whose outputs models nested in `model` were given when they were built on their own
    (`ExistingSecret(name=wildcard.secret_name)` inside the gateway's args, issue 31): the outer model's too."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, Spec):
            found.extend(value._given_by)
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for name in type(model).model_fields:
        walk(getattr(model, name))
    return found


# re.ASCII everywhere: Python's \d and \w also match non-ASCII digits and letters ('８７６００h');
# Go and Kubernetes do not.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", re.ASCII)
_HOST_LABEL = _LABEL


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _LABEL.match(value):
        raise ValueError(
            "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
            "with a letter or digit, at most 63 characters"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not all(_LABEL.match(p) and len(p) <= 63 for p in value.split(".")):
        raise ValueError(
            "must be a DNS-1123 subdomain: lowercase labels of letters, digits and '-' separated by '.', "
            "at most 253 characters"
        )
    return value


def dns_name(value: str) -> str:
    host = value[2:] if value.startswith("*.") else value
    labels = host.split(".")
    if (
        not host
        or len(value) > 253
        or "*" in host
        or not all(_HOST_LABEL.match(label) and len(label) <= 63 for label in labels)
    ):
        raise ValueError(
            "must be a lowercase DNS name such as 'app.example.com', or a wildcard '*.example.com' "
            "('*' only as the whole leftmost label)"
        )
    if labels[-1].isdigit():  # RFC 3696 section 2: no all-numeric top-level domain; '10.0.0.1' is an address
        raise ValueError("is an IP address, not a DNS name: certificates take addresses as ipAddresses")
    if public_suffixes().is_public(host):
        raise ValueError(
            f"{host!r} is a public suffix (publicsuffix.org): nobody can hold a certificate for it"
            + (" or for every name under it" if value.startswith("*.") else "")
        )
    return value


@functools.cache
def public_suffixes() -> PublicSuffixList:
    """The Public Suffix List as shipped with the `publicsuffixlist` package (no download at run time); names under
    an unlisted top-level domain (`.internal`) are not public."""
    return PublicSuffixList(accept_unknown=False)


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address such as '127.0.0.1'") from None


def _go_duration(value: str) -> str:
    parse_go_duration(value)
    return value


_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[0-9.]+|[a-z0-9.-]+):([0-9]{1,5})$", re.ASCII)


def host_port(value: str) -> str:
    match = _HOST_PORT.match(value)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ValueError("must be 'host:port' with a port from 1 to 65535, e.g. '8.8.8.8:53'")
    return value


_SEMVER = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$", re.ASCII)


def _pinned_version(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError("must be a pinned chart version such as 'v1.21.1' (no ranges, no 'latest')")
    return value


# Helm refuses release names longer than 53 characters (helm/pkg/chartutil: "release name exceeds max length").
def _release_name(value: str) -> str:
    _dns_label(value)
    if len(value) > 53:
        raise ValueError("must be at most 53 characters: Helm refuses longer release names")
    return value


# Kubernetes' qualified names (label and annotation keys): an optional DNS-subdomain prefix and '/', then a
# name of at most 63 characters (k8s.io/apimachinery/pkg/util/validation IsQualifiedName).
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", re.ASCII)


def qualified_name(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if "/" in value and not prefix:
        raise ValueError(f"key {value!r}: the prefix before '/' must not be empty")
    if prefix:
        _dns_subdomain(prefix)
    if not name or len(name) > 63 or not _QUALIFIED.match(name):
        raise ValueError(
            f"key {value!r} is not a Kubernetes qualified name: at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit, with an optional DNS-subdomain prefix and '/'"
        )
    return value


def _label_value(value: str) -> str:
    if value and (len(value) > 63 or not _QUALIFIED.match(value)):
        raise ValueError(
            f"label value {value!r} must be empty or at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        qualified_name(key)
        _label_value(item)
    return value


def _annotations(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        qualified_name(key)
    if sum(len(k) + len(v) for k, v in value.items()) > 256 * 1024:
        raise ValueError("annotations may hold at most 256 KiB in total")
    return value


class ObjectName:
    """Marks a field that names a Kubernetes object, namespace, API group or Helm release. A name is never secret:
    it is in the object's path, in every reference to it and in `kubectl get` (stacks/config.py refuses one set
    with `--secret`; a name made from a secret is a digest, components/secret_guard.py object_name)."""


DnsLabel = Annotated[str, AfterValidator(_dns_label), ObjectName()]
ReleaseName = Annotated[str, AfterValidator(_release_name), ObjectName()]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
Annotations = Annotated[dict[str, str], AfterValidator(_annotations)]
# Integers from YAML stay integers: `true` and '3' are refused, not coerced to 1 and 3.
StrictInt = Annotated[int, Strict()]
K8sName = Annotated[str, AfterValidator(_dns_subdomain), ObjectName()]


class Vocabulary:
    """Marks a field whose values are the package's own words, not free text (see StackKey)."""


# A stack key another key refers to (`issuerFrom: privateCa`, `certificateFrom: dnspod`): in a key encrypted as a
# whole it is not a secret to find in other values, since the package's own names hold it (stacks/config.py).
StackKey = Annotated[str, Vocabulary()]
DnsName = Annotated[str, AfterValidator(dns_name)]
IPAddress = Annotated[str, AfterValidator(_ip_address)]
GoDuration = Annotated[str, AfterValidator(_go_duration)]
HostPort = Annotated[str, AfterValidator(host_port)]
PinnedVersion = Annotated[str, AfterValidator(_pinned_version)]


def version_tuple(version: str) -> tuple[int, int, int]:
    core = version.lstrip("v").split("-")[0].split("+")[0]
    major, minor, patch = (int(p) for p in core.split("."))
    return major, minor, patch
