"""Pods without a kubelet: kwok's nodes and the stages it runs (kwok's Stage API, kwok.x-k8s.io/v1alpha1,
sigs.k8s.io/kwok v0.8.0: pkg/apis/v1alpha1/stage_types.go; its stock stages are kustomize/stage/{node,pod}/fast).

kube-scheduler binds pods to the nodes below; kwok reports them Running and Ready, completes the pods of Jobs
(Helm hooks) and finishes deletions. That readiness is **asserted, not real**: a pod's containers never run. The
pods whose images the harness runs as real processes (tests/e2e/kubelet.py: cert-manager's controller, webhook,
cainjector, startupapicheck) are excluded here by image, so that their status is the process's own.

The addresses are status fields only: the pod CIDR and node IP are never dialled (the API server reaches the real
processes through `url.host` and ExternalName Services on loopback), and Endpoints refuse loopback addresses
(pkg/apis/core/validation ValidateEndpointIP), so they are private-range values nobody connects to.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.kube import conditions

NODE_LABEL = "cluster-tls.e2e/kwok=node"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.250.0.1"
NODES = ("kwok-node-a", "kwok-node-b")  # two: charts spread replicas with anti-affinity (cilium-operator)


def nodes() -> list[dict]:
    key, _, value = NODE_LABEL.partition("=")
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    key: value,
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/control-plane": "",
                },
            },
            "spec": {"podCIDR": f"10.244.{i}.0/24", "podCIDRs": [f"10.244.{i}.0/24"]},
        }
        for i, name in enumerate(NODES)
    ]


def nodes_ready(kube) -> bool:
    return all(conditions(kube.get("v1", "Node", name)).get("Ready") == "True" for name in NODES)


STAGES = Path(__file__).with_name("kwok-stages.yaml")


def stages(process_images: tuple[str, ...]) -> list[dict]:
    """kwok-stages.yaml, its pod stages leaving alone the pods whose images the harness runs itself."""
    documents = list(yaml.safe_load_all(STAGES.read_text()))
    for stage in documents:
        if (
            stage["spec"]["resourceRef"]["kind"] == "Pod"
            and process_images
            and "statusTemplate" in stage["spec"]["next"]
        ):
            stage["spec"]["selector"]["matchExpressions"].append(
                {"key": ".spec.containers.[].image", "operator": "NotIn", "values": list(process_images)}
            )
    return documents


def write_stages(folder: Path, process_images: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stages.yaml"
    path.write_text(yaml.safe_dump_all(stages(process_images), sort_keys=False))
    return path
