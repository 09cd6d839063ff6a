"""A server-side-apply patch that adds one volume and its mount to a Deployment other tools own.

pulumi-kubernetes diffs a Patch resource against the live object pruned to the patch's shape, list entry by list
entry by position (provider/pkg/provider/util.go, pruneSlice, v4.25.0; the same in later versions): a patch whose
only volume is appended after the owner's volumes would compare with the owner's first one and show an update on
every run (pulumi/pulumi-kubernetes#2682; on a cluster with pods the no-op update then waits for a rollout). So the
patch names the live entries first, by their keys only (volume name; container name; mount path and name), and its
own last, where the API server's merge keeps them. Naming a key co-owns only that key: the entries stay the
owner's, and giving the patch up removes only what it added (tests/e2e/test_whizard_seed.py shows both).
"""

from __future__ import annotations

from typing import Any


def _items(obj: Any, attribute: str) -> list[Any]:
    return list(getattr(obj, attribute, None) or []) if obj is not None else []


def mount_patch_spec(live_spec: Any, container: str, volume: dict[str, Any], mount: dict[str, Any]) -> dict[str, Any]:
    """`spec` of a DeploymentPatch adding `volume` and, in `container`, `mount`, aligned with `live_spec` (the live
    Deployment's spec as `apps.v1.Deployment.get` returns it)."""
    pod = getattr(getattr(live_spec, "template", None), "spec", None)
    volumes = [{"name": v.name} for v in _items(pod, "volumes") if v.name != volume["name"]]
    containers = []
    for live in _items(pod, "containers"):
        if live.name != container:
            containers.append({"name": live.name})
            continue
        mounts = [
            {"name": m.name, "mountPath": m.mount_path}
            for m in _items(live, "volume_mounts")
            if m.mount_path != mount["mountPath"]
        ]
        containers.append({"name": container, "volumeMounts": [*mounts, mount]})
    if not any(c["name"] == container for c in containers):
        found = ", ".join(repr(c["name"]) for c in containers) or "none"
        raise ValueError(f"the live Deployment has no container {container!r} (its containers: {found})")
    return {"template": {"spec": {"volumes": [*volumes, volume], "containers": containers}}}
