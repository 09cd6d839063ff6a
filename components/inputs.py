"""Outputs given as args: one component's output accepted by the next (`issuer=ca.issuer`), issue 20.

A component's args decide object names and are checked before anything is registered, so their values must be
known when the component is built. A `pulumi.Output` only has its value once the engine resolves it, later.
The outputs a cluster-tls component makes are different: the component knew their values when it made them.
It records them here, and args given such an output take that value (checked at once, as a plain value would
be) and the component that made it as a dependency. Any other Output is refused, naming the field and saying
what to pass, except in fields that only pass the value on (credentials), which validate it when it resolves.
"""

from __future__ import annotations

import contextvars
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

import pulumi
from pydantic import SecretStr, WrapValidator

T = TypeVar("T")

_known: weakref.WeakKeyDictionary[pulumi.Output[Any], tuple[Any, pulumi.Resource, str]] = weakref.WeakKeyDictionary()
_sources: contextvars.ContextVar[list[pulumi.Resource] | None] = contextvars.ContextVar("sources", default=None)
# The outputs substituted while the outermost model validates: (value, component, attribute), so that a refusal
# can say which output was given where another kind was wanted (issue 31).
_given: contextvars.ContextVar[list[tuple[Any, pulumi.Resource, str]] | None] = contextvars.ContextVar(
    "given", default=None
)

FOREIGN_OUTPUT = (
    "is a pulumi.Output that no cluster-tls component made: its value is known only when the engine resolves "
    "it, and this field is checked and names objects before anything is registered; pass the value itself "
    "(e.g. the name you gave that resource), or an output of a cluster-tls component such as `ca.issuer`"
)


def known_output(
    output: pulumi.Output[Any], value: Any, source: pulumi.Resource, attribute: str = ""
) -> pulumi.Output[Any]:
    """`output` (`source.<attribute>`), recorded as resolving to `value`: args given it take `value`."""
    _known[output] = (value, source, attribute)
    return output


def given_output(value: Any) -> tuple[pulumi.Resource, str] | None:
    """The component and attribute of the output substituted as `value` in the args being validated, if any."""
    for known, source, attribute in _given.get() or ():
        if type(known) is type(value) and known == value:
            return source, attribute
    return None


def known_outputs_of(source: pulumi.Resource) -> dict[str, Any]:
    """The outputs of `source` whose values are known: attribute -> value."""
    return {attribute: value for value, made_by, attribute in list(_known.values()) if made_by is source and attribute}


def substitute(value: Any) -> Any:
    """`value` with every recorded Output in it (in dicts, lists and tuples) replaced by its value; the components
    that made them are collected for the args being validated (see `collecting`)."""
    if isinstance(value, pulumi.Output):
        entry = _known.get(value)
        if entry is None:
            return value
        sources, given = _sources.get(), _given.get()
        if sources is not None:
            sources.append(entry[1])
        if given is not None:
            given.append(entry)
        return entry[0]
    if isinstance(value, dict):
        return {key: substitute(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(substitute(item) for item in value)
    return value


@contextmanager
def collecting() -> Iterator[list[pulumi.Resource] | None]:
    """Collect the sources of substituted Outputs while the outermost model validates; nested models add to the
    outermost one's list. Yields the list to the outermost caller, None to nested ones."""
    if _sources.get() is not None:
        yield None
        return
    found: list[pulumi.Resource] = []
    token, given_token = _sources.set(found), _given.set([])
    try:
        yield found
    finally:
        _sources.reset(token)
        _given.reset(given_token)


def is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


# A field another component's output may fill: `Given[IssuerRef]` is IssuerRef to pydantic (the Output is
# replaced by its known value before validation) and "IssuerRef or an Output" to type checkers.
if TYPE_CHECKING:
    Given: TypeAlias = T | pulumi.Output[Any]
else:

    class Given:
        def __class_getitem__(cls, item: Any) -> Any:
            return item


# A secret that only passes through (into a Secret's data): a str, or an Output such as
# `pulumi.Config().require_secret(...)`, checked when it resolves. Type checkers see what a caller may pass.
if TYPE_CHECKING:
    SecretInput: TypeAlias = str | SecretStr | pulumi.Output[str]
else:
    SecretInput = Annotated[
        SecretStr, WrapValidator(lambda value, handler: value if isinstance(value, pulumi.Output) else handler(value))
    ]


def secret_output(value: SecretStr | pulumi.Output[Any], field: str) -> pulumi.Output[str]:
    """The secret as an `Output.secret`; one given as an Output must resolve to a non-empty string, or the
    deployment stops naming `field` (never the value)."""
    if isinstance(value, SecretStr):
        return pulumi.Output.secret(value.get_secret_value())

    def checked(resolved: Any) -> str:
        if not isinstance(resolved, str):
            raise ValueError(f"{field}: the Output given resolved to a {type(resolved).__name__}, not a string")
        if not resolved.strip():
            raise ValueError(f"{field}: the Output given resolved to an empty or blank string")
        return resolved

    return pulumi.Output.secret(value.apply(checked))


def is_secret_annotation(annotation: Any) -> bool:
    """Whether a field holds a secret (SecretStr, alone, in a union or as SecretInput)."""
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())
