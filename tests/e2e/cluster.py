"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager, and either
cert-manager's controller as one process (the original tier) or pods (kube-scheduler and kwok, for the stacks'
own Helm releases).

Built from Go modules by tools/e2e/build.sh. No kubelet or kube-proxy. Without `pods`, Pods never run, so
whatever waits for Pods (Helm waits and hooks, Deployment awaits) is switched off on purpose by the tests, and
cert-manager's validating webhook cannot answer (its CRDs are installed, not its webhook). With `pods`,
kube-scheduler binds pods to kwok's nodes and kwok reports them running (tests/e2e/kwok.py); the processes the
harness runs for some of them are tests/e2e/kubelet.py's. With `aggregator`, the API server proxies aggregated
APIs (an APIService such as a DNS-01 webhook solver's) with a client certificate of its own, as kubeadm sets it up.
Every process is started in its own process group and stopped by its id; the state lives in one temporary
folder, removed on stop. Flags follow controller-runtime's envtest (pkg/internal/testing/controlplane/
apiserver.go, defaultArgs).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.e2e import kwok
from tests.e2e.certs import issue, make_ca
from tests.e2e.kube import ApiError, Kube

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: the kernel kills it when the harness dies, even by SIGKILL (prctl(2)), so an
    interrupted run leaves no control plane behind."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Cluster:
    bin: Path
    crds: list[Path]
    state: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cluster-tls-e2e-")))
    processes: list[Process] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    cert_manager: bool = True  # cert-manager's controller as one process, started with the cluster
    pods: bool = False  # kube-scheduler and kwok: pods are scheduled and reported running
    aggregator: bool = False  # the aggregation layer's proxy client certificate (APIServices)
    process_images: tuple[str, ...] = ()  # images whose pods the harness runs itself (kwok leaves them alone)

    # paths -------------------------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.state / "pki" / "apiserver.crt"

    def versions(self) -> dict[str, str]:
        out = {}
        for name, args in (
            ("etcd", ["--version"]),
            ("kube-apiserver", ["--version"]),
            ("kube-controller-manager", ["--version"]),
        ):
            text = subprocess.run([self.bin / name, *args], capture_output=True, text=True).stdout
            out[name] = text.splitlines()[0].split()[-1] if text else "?"
        return out

    # lifecycle ---------------------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log = self.state / f"{name}.log"
        handle = open(log, "wb")  # noqa: SIM115 - the child owns it
        popen = subprocess.Popen(
            [str(a) for a in argv],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
            env={**os.environ, **(env or {})},
            cwd=self.state,
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _wait(self, process: Process, what: str, ready, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited ({process.popen.returncode}):\n{process.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{process.name}: {what} not ready after {timeout:.0f} s:\n{process.tail()}")

    def start(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        (self.state / "pki").mkdir(parents=True)
        etcd_client, etcd_peer = free_port(), free_port()
        etcd = self._spawn(
            "etcd",
            [
                self.bin / "etcd",
                "--data-dir",
                self.state / "etcd",
                "--name",
                "e2e",
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-cluster",
                f"e2e=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
        )
        self._wait(etcd, "client port", lambda: _port_open(etcd_client))

        subprocess.run(["openssl", "genrsa", "-out", self.state / "sa.key", "2048"], check=True, capture_output=True)
        subprocess.run(
            ["openssl", "rsa", "-in", self.state / "sa.key", "-pubout", "-out", self.state / "sa.pub"],
            check=True,
            capture_output=True,
        )
        (self.state / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                self.bin / "kube-apiserver",
                *self._aggregator_flags(),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.state / 'pki'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--authorization-mode=RBAC",
                f"--token-auth-file={self.state / 'tokens.csv'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={self.state / 'sa.pub'}",
                f"--service-account-signing-key-file={self.state / 'sa.key'}",
                "--endpoint-reconciler-type=none",
                "--disable-admission-plugins=ServiceAccount",
            ],
        )
        self._wait(apiserver, "serving CA", self.ca_file.is_file)
        self.kube = Kube(self.server, self.token, str(self.ca_file))
        self._wait(apiserver, "/readyz", self._ready)
        self._write_kubeconfig()

        manager = self._spawn(
            "kube-controller-manager",
            [
                self.bin / "kube-controller-manager",
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--use-service-account-credentials=false",
                f"--service-account-private-key-file={self.state / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                # Deployments roll out; with pods, DaemonSets, StatefulSets and Jobs (Helm hooks) too.
                "--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,"
                "serviceaccount-token-controller,deployment-controller,replicaset-controller"
                + (
                    ",daemonset-controller,statefulset-controller,job-controller,endpointslice-controller,node-lifecycle-controller"
                    if self.pods
                    else ""
                ),
            ],
        )
        self.install_crds(self.crds)
        if self.pods:
            self._start_pods()
        if not self.cert_manager:
            self._wait(manager, "namespace controller", lambda: self._serviceaccount("default"), 60)
            return
        self.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}})
        controller = self._spawn(
            "cert-manager",
            [
                self.bin / "cert-manager-controller",
                f"--kubeconfig={self.kubeconfig}",
                "--cluster-resource-namespace=cert-manager",
            ],
        )
        # Both run for good: the tests find a dead one through `check_alive`.
        self._wait(manager, "namespace controller", lambda: self._serviceaccount("cert-manager"), 60)
        self._wait(controller, "informers", lambda: "starting controller" in controller.log.read_text(), 30)

    def _aggregator_flags(self) -> list[str]:
        """The aggregation layer's flags (kubeadm's): the API server authenticates to aggregated API servers with
        a client certificate, which they verify against the request-header CA it publishes in kube-system's
        extension-apiserver-authentication ConfigMap."""
        if not self.aggregator:
            return []
        pki = self.state / "pki"
        ca = make_ca(pki, "front-proxy-ca")
        client = issue(ca, pki, "front-proxy-client", client=True)
        return [
            f"--requestheader-client-ca-file={ca.cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            f"--proxy-client-cert-file={client.cert}",
            f"--proxy-client-key-file={client.key}",
        ]

    def _start_pods(self) -> None:
        scheduler = self._spawn(
            "kube-scheduler",
            [
                self.bin / "kube-scheduler",
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
            ],
        )
        stages = kwok.write_stages(self.state / "kwok", self.process_images)
        simulator = self._spawn(
            "kwok",
            [
                self.bin / "kwok",
                f"--kubeconfig={self.kubeconfig}",
                f"--config={stages}",
                f"--manage-nodes-with-label-selector={kwok.NODE_LABEL}",
                f"--cidr={kwok.POD_CIDR}",
                f"--node-ip={kwok.NODE_IP}",
                "--server-address=127.0.0.1:0",
            ],
        )
        for node in kwok.nodes():
            self.kube.apply(node)
        self._wait(simulator, "nodes Ready", lambda: kwok.nodes_ready(self.kube), 60)
        self._wait(scheduler, "scheduler", scheduler.alive, 5)

    def _ready(self) -> bool:
        try:
            return self.kube.raw("GET", "/readyz") == b"ok"
        except (OSError, ApiError):  # not serving yet
            return False

    def _serviceaccount(self, namespace: str) -> bool:
        return self.kube.get("v1", "ServiceAccount", "default", namespace) is not None

    def _kubeconfig(self, user: str, token: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "e2e",
            "clusters": [
                {
                    "name": "e2e",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(self.ca_file.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
        }

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(yaml.safe_dump(self._kubeconfig("admin", self.token)))
        self.kubeconfig.chmod(0o600)

    def service_account_kubeconfig(self, namespace: str, name: str, path: Path, seconds: int = 7200) -> Path:
        """A kubeconfig at `path` that acts as ServiceAccount `namespace/name` (a requested token)."""
        token = self.kube.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}},
        )["status"]["token"]
        path.write_text(yaml.safe_dump(self._kubeconfig(name, token)))
        path.chmod(0o600)
        return path

    def install_crds(self, files: list[Path]) -> None:
        names = []
        for path in files:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    self.kube.apply(doc)
                    names.append(doc["metadata"]["name"])
        if names:
            self.kube.wait_for_crds(names)

    def check_alive(self) -> None:
        dead = [p for p in self.processes if not p.alive()]
        if dead:
            raise RuntimeError("; ".join(f"{p.name} exited ({p.popen.returncode}):\n{p.tail()}" for p in dead))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if os.environ.get("CLUSTER_TLS_E2E_KEEP"):
            print(f"e2e: kept the cluster's state in {self.state}")
        else:
            shutil.rmtree(self.state, ignore_errors=True)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
