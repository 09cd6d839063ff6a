"""The offline runner's registration path: the SDK's own preparation, without the RPC round trip.

`pulumi up` registers a resource through `pulumi.runtime.resource.register_resource`: it prepares the request
(`prepare_resource`: inputs serialized, dependencies, parent, provider, aliases), builds a protobuf
RegisterResourceRequest, hands it to a worker thread that calls the engine, and resolves the resource's outputs
from the protobuf response. Under the mock engine that response is computed in-process from the request, and for
the objects the offline runner echoes (state = inputs, `_EchoMocks`) it *is* the request's serialized inputs.

This module keeps the SDK's preparation and its output resolution, the parts that give a program its behaviour,
and replaces only the request/response round trip for those echoed objects: no protobuf request, no worker-thread
hop, the URN computed as `MockMonitor.make_urn` computes it. Anything else (the stack, reads, imports, objects
whose state differs from their inputs, remote components, transforms, hooks, ...) goes through the SDK's path
unchanged. It is installed only while `mockrun.run_program` evaluates offline; `pulumi up` never imports it.
`tests/test_direct_registration.py` proves both paths record the same registrations and render the same bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pulumi.resource as sdk_resource_module
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import _get_rpc_manager

if TYPE_CHECKING:
    from .mockrun import _RecordingMonitor


_HOOK_KINDS = (
    "before_create",
    "after_create",
    "before_update",
    "after_update",
    "before_delete",
    "after_delete",
    "on_error",
)


def _binds_hooks(binding: Any) -> bool:
    # ResourceOptions.merge always leaves a ResourceHookBinding, mostly an empty one
    # (pulumi/resource_hooks.py ResourceHookBinding.merge).
    return binding is not None and any(getattr(binding, kind, None) for kind in _HOOK_KINDS)


def _needs_sdk_path(monitor: _RecordingMonitor, ty: str, remote: bool, opts: Any, package_ref: Any) -> bool:
    if remote or package_ref is not None or not monitor.echoes(ty):
        return True
    if opts is None:
        return False
    return bool(
        opts.import_
        or opts.transforms
        or opts.state_migrations
        or _binds_hooks(opts.hooks)
        or opts.replacement_trigger is not None
        or opts.deleted_with is not None
        or opts.replace_with
    )


async def _prepare(res, ty, name, custom, remote, props, opts, typ):
    # The SDK's own preparation, with its error messages (pulumi/runtime/resource.py register_resource.do_register).
    try:
        return await sdk_resource.prepare_resource(res, ty, custom, remote, props, opts, typ)
    except ValueError as e:
        raise ValueError(f"While processing resource: {name!r}, type: {ty!r}\nValueError has risen: {e}") from e
    except AssertionError as e:
        raise AssertionError(f"While processing resource: {name!r}, type {ty!r}\nAssertionError has risen: {e}") from e


def _direct_register(monitor: _RecordingMonitor, original: Callable[..., None]) -> Callable[..., None]:
    def register_resource(res, ty, name, custom, remote, new_dependency, props, opts, typ=None, package_ref=None):
        if _needs_sdk_path(monitor, ty, remote, opts, package_ref):
            return original(res, ty, name, custom, remote, new_dependency, props, opts, typ, package_ref)

        # As the SDK does before it prepares the request (pulumi/runtime/resource.py register_resource).
        resolve_urn, res.__dict__["urn"] = sdk_resource.resource_output(res)
        resolve_id = None
        if custom:
            resolve_id, res.__dict__["id"] = sdk_resource.resource_output(res)
        resolvers = rpc.transfer_properties(res, props, custom)

        async def do_register() -> None:
            try:
                resolver = await _prepare(res, ty, name, custom, remote, props, opts, typ)
                urn = MockMonitor.make_urn(monitor, resolver.parent_urn or "", ty, name)
                monitor.record(
                    urn=urn,
                    type_=ty,
                    name=name,
                    parent=resolver.parent_urn or "",
                    custom=custom,
                    serialized_inputs=resolver.serialized_props,
                    dependencies=tuple(resolver.dependencies),
                    property_dependencies={k: tuple(v) for k, v in resolver.property_dependencies.items()},
                    provider=resolver.provider_ref or "",
                )
            except Exception as exn:
                rpc.resolve_outputs_due_to_exception(resolvers, exn)
                resolve_urn(None, True, False, exn)
                if resolve_id is not None:
                    resolve_id(None, True, False, exn)
                raise
            resolve_urn(urn, True, False, None)
            if resolve_id is not None:
                resolve_id(f"{name}-id", True, False, None)
            # The echoed state is the serialized inputs: resolved exactly as the SDK resolves a successful response
            # (keep_unknowns=True, no property dependencies from the engine).
            rpc.resolve_outputs(
                res, resolver.serialized_props, resolver.serialized_props, {}, resolvers, custom, typ is not None, True
            )

        asyncio.ensure_future(_get_rpc_manager().do_rpc("register resource", do_register)())

    return register_resource


def _direct_register_outputs(monitor: _RecordingMonitor) -> Callable[..., None]:
    def register_resource_outputs(res, outputs) -> None:
        async def do_register_resource_outputs() -> None:
            urn = await res.urn.future()
            monitor.record_outputs(urn, await rpc.serialize_properties(outputs or {}, {}))

        asyncio.ensure_future(_get_rpc_manager().do_rpc("register resource outputs", do_register_resource_outputs)())

    return register_resource_outputs


@contextmanager
def installed(monitor: _RecordingMonitor) -> Iterator[None]:
    """Route registrations through the direct path while the offline runner evaluates."""
    originals = (sdk_resource_module.register_resource, sdk_resource_module.register_resource_outputs)
    sdk_resource_module.register_resource = _direct_register(monitor, originals[0])
    sdk_resource_module.register_resource_outputs = _direct_register_outputs(monitor)
    try:
        yield
    finally:
        sdk_resource_module.register_resource, sdk_resource_module.register_resource_outputs = originals
