"""A cluster as a stack's own releases need it, on loopback: the control plane with pods (kube-scheduler, kwok),
the aggregation layer, cert-manager's processes started from the chart's own pods (tests/e2e/kubelet.py), a chart
mirror, pebble, and the DNSPod stand-in (tests/e2e/acme.py).

What a stack file is given on top of its own config is only what points outside this machine, through settings a
user has too (`overrides`): the chart mirror (`cluster-tls:charts`), the private ACME server and its CA
(`dnspod.acmeServer`, `dnspod.acmeCaBundle`), the DNS-01 self-check resolvers (`certManager.
dns01RecursiveNameservers`), where the API server reaches cert-manager's webhook (`certManager.values.webhook.url.
host` and `securePort`: its pod runs as a process on loopback), the DNSPod webhook installed already
(`dnspod.webhook.install: false`, its chart cannot be had), and chart versions the mirror can serve.
"""

from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.acme import REFUSED_DOMAIN, DnspodStandIn, Pebble
from tests.e2e.charts import ISTIO_GATEWAY_VERSION, ChartRepository
from tests.e2e.cluster import Cluster
from tests.e2e.engine import REPO, Engine
from tests.e2e.kubelet import ProcessKubelet, images

CERT_MANAGER_VERSION = "v1.21.1"
# Staging pins Cilium 1.18.12, whose module the proxy does not serve: the newest minor it serves is used.
CILIUM_SERVED = "1.20.2"
DNSPOD_RELEASE = "cert-manager-webhook-dnspod"


def shipped_render(stack: str, folder: Path) -> Path:
    """`cluster-tls render` of the stack file as shipped (what the stack would give each chart)."""
    done = subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "render", "--stack", stack, "--out", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"cluster-tls render --stack {stack}: {done.stderr}")
    return folder


@dataclass
class Platform:
    bin: Path
    crds: list[Path]
    stack: str  # the shipped stack whose DNSPod webhook values the stand-in takes
    zones: tuple[str, ...]
    secret_id: str
    secret_key: str

    def start(self) -> Platform:
        self.cluster = Cluster(
            bin=self.bin,
            crds=self.crds,
            cert_manager=False,
            pods=True,
            aggregator=True,
            process_images=images(CERT_MANAGER_VERSION),
        )
        try:
            self.cluster.start()
            state = self.cluster.state
            cluster = self.cluster
            self.kubelet = ProcessKubelet(
                cluster.kube, self.bin, CERT_MANAGER_VERSION, cluster.server, cluster.ca_file, state / "pods"
            ).start()
            self.charts = ChartRepository(self.bin / "helm", self.bin.parent / "charts", state / "charts").start()
            render = shipped_render(self.stack, state / "shipped-render")
            values = yaml.safe_load((render / "helm" / "cert-manager" / DNSPOD_RELEASE / "values.yaml").read_text())
            self.dnspod = DnspodStandIn(
                self.cluster, values, DNSPOD_RELEASE, self.zones, self.secret_id, self.secret_key
            ).start()
            self.pebble = Pebble(self.cluster, self.dnspod.dns, (REFUSED_DOMAIN,)).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in ("kubelet", "charts"):
            if hasattr(self, part):
                getattr(self, part).stop()
        self.cluster.stop()

    def check_alive(self) -> None:
        self.cluster.check_alive()
        dead = [p for p in self.kubelet.processes.values() if not p.job and not p.alive()]
        if dead:
            raise RuntimeError("; ".join(f"{p.key} exited:\n{p.tail()}" for p in dead))

    def overrides(self, config: dict[str, Any]) -> dict[str, Any]:
        """The stack file's config with what points outside this machine pointed here (see the module's doc)."""
        config = copy.deepcopy(config)
        config["cluster-tls:charts"] = {"repository": self.charts.url, "caFile": str(self.charts.ca.cert)}
        manager = config.setdefault("cluster-tls:certManager", {})
        manager["dns01RecursiveNameservers"] = [self.dnspod.dns]
        values = manager.setdefault("values", {})
        values["webhook"] = {"url": {"host": "localhost"}, "securePort": 443}
        dnspod = config["cluster-tls:dnspod"]
        dnspod["acmeServer"] = self.pebble.directory
        dnspod["acmeCaBundle"] = self.pebble.ca.cert.read_text()
        dnspod["webhook"] = {**dnspod.get("webhook", {}), "install": False}
        hubble = config.get("cluster-tls:hubble") or {}
        if "release" in hubble:
            hubble["ciliumVersion"] = CILIUM_SERVED
        gateway = config.get("cluster-tls:istioGateway") or {}
        if (gateway.get("release") or {}).get("install"):
            gateway["release"]["version"] = ISTIO_GATEWAY_VERSION
        return config


def engine_for(bin_: Path, home: Path, kubeconfig: Path) -> Engine:
    engine = Engine(bin=bin_, home=home, kubeconfig=kubeconfig)
    (home / "state").mkdir(parents=True, exist_ok=True)
    (home / "pulumi-home").mkdir(parents=True, exist_ok=True)
    return engine


@contextlib.contextmanager
def environment(engine: Engine):
    """The engine's settings in this process (the inline program runs here) for a while, then as they were."""
    settings = {k: v for k, v in engine.env().items() if k != "PATH"}
    before = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
