"""Work the mock engine never needs, skipped or done once while the offline runner evaluates.

Each replacement gives the same answers as the SDK function it stands in for (tests/test_offline_shortcuts.py
compares them); they are installed only around `mockrun.run_program`, which `pulumi up` never calls.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from pulumi import _types
from pulumi.output import Unknown
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2


def contains_unknowns(value: Any) -> bool:
    """`pulumi.runtime.rpc.contains_unknowns` without its per-call recursive closure.

    The SDK's version (pulumi/runtime/rpc.py contains_unknowns) defines a self-referencing `impl` on every
    call, a reference cycle only the cyclic collector frees: about fifty thousand per thousand objects, the
    largest share of an evaluation's garbage. Same walk, same answer: an Unknown (known_types.is_unknown: an
    instance of pulumi.output.Unknown) anywhere in nested dicts and lists, each container visited once, dict
    items read through `__getitem__` as the SDK reads them.
    """
    if isinstance(value, Unknown):
        return True
    if not isinstance(value, (dict, list)):
        return False
    seen: set[int] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Unknown):
            return True
        if isinstance(item, (dict, list)) and id(item) not in seen:
            seen.add(id(item))
            if type(item) is list:
                pending.extend(item)
            elif type(item) is dict:
                pending.extend(item.values())
            elif isinstance(item, dict):
                pending.extend(item[key] for key in item)
            else:
                pending.extend(item)
    return False


def _per_class(function):
    """A function of a resource class alone, computed once per class; the callers only read the result
    (pulumi/runtime/rpc.py resolve_outputs, pulumi/runtime/resource.py _translate_additional_secret_outputs)."""

    @functools.cache
    def cached(cls: type):
        return MappingProxyType(function(cls))

    return cached


# (module, attribute, replacement factory): what `installed()` swaps in for the duration of an evaluation.
_REPLACEMENTS = (
    # A traceback.extract_stack() per registration, for the engine's source positions.
    (sdk_resource, "_get_stack_trace", lambda original: source_pb2.StackTrace),
    (rpc, "contains_unknowns", lambda original: contains_unknowns),
    # get_type_hints over the class annotations, per resource (pulumi/_types.py resource_types).
    (_types, "resource_types", _per_class),
    (_types, "resource_pulumi_to_py_names", _per_class),
    (_types, "resource_py_to_pulumi_names", _per_class),
)


@contextmanager
def installed(*, leave_garbage: bool = False) -> Iterator[None]:
    """Install the replacements, and hold the cyclic garbage collector off while the program runs: its
    passes walk every live future and resource again and again, which grows faster than the program.

    After the run the collector is turned back on; with `leave_garbage` (a process that exits after one
    evaluation, such as the CLI) what the run allocated is frozen out of its view instead (gc.freeze), so the
    one large collection it would otherwise make at once is not made at all.
    """
    originals = [(module, attribute, getattr(module, attribute)) for module, attribute, _ in _REPLACEMENTS]
    for (module, attribute, make), (_, _, original) in zip(_REPLACEMENTS, originals, strict=True):
        setattr(module, attribute, make(original))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        for module, attribute, original in originals:
            setattr(module, attribute, original)
        if leave_garbage:
            gc.freeze()
        if was_enabled:
            gc.enable()
