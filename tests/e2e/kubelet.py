"""The harness as a kubelet for the pods whose images it can run: cert-manager's own processes.

kwok reports every other pod Running without running anything (tests/e2e/kwok.py). For the pods of cert-manager's
chart, whose images are built here from cert-manager's module (tools/e2e/cert-manager), this does what a kubelet
does with a pod bound to its node, as far as a process on loopback can:

- the image decides the program (`quay.io/jetstack/cert-manager-<part>:<tag>` -> `cert-manager-<part>`); a tag
  other than the version built is an image that cannot be pulled, and the pod says so (ErrImagePull);
- the container's `args`, with `$(VAR)` expanded from its `env` (values and the downward API), exactly as the
  chart rendered them; ConfigMap volumes are written to a folder of the pod and the paths under their mountPath
  follow it;
- the pod's ServiceAccount: a token requested for it (TokenRequest, as the kubelet's projected token), handed to
  the process as a kubeconfig (`--kubeconfig`), so the chart's RBAC decides what the process may do;
- status from the process: Ready once it serves (the webhook's port accepts connections) or keeps running, not
  Ready while it is restarted after an exit (restartPolicy Always); a Job's pod ends Succeeded or Failed with the
  process's exit code, so Helm's hook waits on the real check;
- a pod deleted or gone stops its process (by process group), as does `stop()`.

Two differences, said where they apply: the webhook listens on loopback (`--listen-host`, the runner's own flag),
and the API server reaches it at the chart's `webhook.url.host` instead of through its Service (no kube-proxy).
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.cluster import Process, die_with_parent
from tests.e2e.kube import ApiError, Kube

IMAGE = re.compile(r"^quay\.io/jetstack/cert-manager-(controller|webhook|cainjector|startupapicheck):(.+)$")
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def images(version: str) -> tuple[str, ...]:
    """The images this kubelet runs (kwok leaves their pods alone)."""
    return tuple(
        f"quay.io/jetstack/cert-manager-{part}:{version}"
        for part in ("controller", "webhook", "cainjector", "startupapicheck")
    )


@dataclass
class PodProcess:
    key: str  # namespace/name
    uid: str
    part: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    job: bool
    port: int | None  # the webhook's serving port
    process: Process | None = None
    restarts: int = 0
    reported: str = ""  # the last status written
    started_at: float = 0.0
    served: bool = False  # the port answered since the last start: not probed again

    def start(self) -> None:
        handle = open(self.log, "ab")  # noqa: SIM115 - the child owns it
        popen = subprocess.Popen(
            self.argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
            env=self.env,
        )
        handle.close()
        self.process = Process(self.key, popen, self.log)
        self.started_at = time.monotonic()
        self.served = False

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def exit_code(self) -> int | None:
        return self.process.popen.poll() if self.process is not None else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def tail(self, lines: int = 20) -> str:
        return self.process.tail(lines) if self.process is not None else ""

    def serving(self) -> bool:
        if not self.alive():
            return False
        if self.port is None:
            return time.monotonic() - self.started_at > 1.0
        if not self.served:
            with socket.socket() as s:
                self.served = s.connect_ex(("127.0.0.1", self.port)) == 0
        return self.served


@dataclass
class ProcessKubelet:
    kube: Kube
    bin: Path
    version: str
    server: str
    ca_file: Path
    state: Path
    processes: dict[str, PodProcess] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    completed: list[tuple[str, str, int]] = field(default_factory=list)  # (pod, part, exit code) of Job pods
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ProcessKubelet:
        self.state.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="process-kubelet", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        for process in self.processes.values():
            process.stop()

    def logs(self, part: str, lines: int = 40) -> str:
        return "\n".join(f"{p.key}:\n{p.tail(lines)}" for p in self.processes.values() if p.part == part)

    # the loop -----------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except (OSError, ApiError) as error:  # the API server restarting, a pod deleted meanwhile
                self.errors.append(str(error))
            self._stop.wait(0.3)

    def _sync(self) -> None:
        pods = self.kube.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName!%3D")["items"]
        seen = set()
        for pod in pods:
            container = (pod["spec"].get("containers") or [{}])[0]
            match = IMAGE.match(container.get("image", ""))
            if not match:
                continue
            meta = pod["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            seen.add(key)
            if meta.get("deletionTimestamp"):
                self._forget(key)
                continue
            if match.group(2) != self.version:
                self._report(pod, None, waiting=("ErrImagePull", f"only {self.version} is built here"))
                continue
            process = self.processes.get(key)
            if process is None or process.uid != meta["uid"]:
                self._forget(key)
                process = self._prepare(pod, container, match.group(1))
                self.processes[key] = process
                process.start()
            self._supervise(pod, process)
        for key in list(self.processes):
            if key not in seen:
                self._forget(key)

    def _forget(self, key: str) -> None:
        process = self.processes.pop(key, None)
        if process is not None:
            process.stop()

    def _supervise(self, pod: dict, process: PodProcess) -> None:
        if process.job:
            code = process.exit_code()
            if code is None:
                self._report(pod, process, ready=False)
            else:
                if (process.key, process.part, code) not in self.completed:
                    self.completed.append((process.key, process.part, code))
                self._report(pod, process, exit_code=code)
            return
        if not process.alive():  # restartPolicy Always: start it again, a little later each time
            if time.monotonic() - process.started_at > min(2**process.restarts, 10):
                process.restarts += 1
                process.start()
            self._report(pod, process, ready=False)
            return
        self._report(pod, process, ready=process.serving())

    # what the pod runs ----------------------------------------------------------------------------------------
    def _prepare(self, pod: dict, container: dict, part: str) -> PodProcess:
        meta, spec = pod["metadata"], pod["spec"]
        folder = self.state / f"{meta['namespace']}.{meta['name']}"
        folder.mkdir(parents=True, exist_ok=True)
        env = self._environment(pod, container)
        mounts = self._volumes(pod, container, folder)
        args = [self._expand(a, env) for a in container.get("args", [])]
        for mount_path, local in mounts.items():
            args = [a.replace(mount_path, str(local)) for a in args]
        kubeconfig = self._kubeconfig(meta["namespace"], spec.get("serviceAccountName") or "default", folder)
        argv = [str(self.bin / f"cert-manager-{part}"), *args, f"--kubeconfig={kubeconfig}"]
        port = None
        if part == "webhook":
            argv.append("--listen-host=127.0.0.1")
            port = next((int(a.split("=", 1)[1]) for a in args if a.startswith("--secure-port=")), 10250)
        return PodProcess(
            key=f"{meta['namespace']}/{meta['name']}",
            uid=meta["uid"],
            part=part,
            argv=argv,
            env={"PATH": os.environ.get("PATH", ""), **env},
            log=folder / "process.log",
            job=any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences", [])),
            port=port,
        )

    def _environment(self, pod: dict, container: dict) -> dict[str, str]:
        fields = {
            "metadata.namespace": pod["metadata"]["namespace"],
            "metadata.name": pod["metadata"]["name"],
            "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
            "spec.nodeName": pod["spec"].get("nodeName", ""),
        }
        env: dict[str, str] = {}
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = self._expand(item["value"], env)
                continue
            ref = (item.get("valueFrom") or {}).get("fieldRef")
            if ref is None or ref.get("fieldPath") not in fields:
                source = item.get("valueFrom")
                raise RuntimeError(f"{pod['metadata']['name']}: env {item['name']} from {source}: not resolved here")
            env[item["name"]] = fields[ref["fieldPath"]]
        return env

    @staticmethod
    def _expand(text: str, env: dict[str, str]) -> str:
        # Kubernetes' $(VAR) expansion: a defined variable is replaced, anything else is left as written.
        return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)

    def _volumes(self, pod: dict, container: dict, folder: Path) -> dict[str, Path]:
        sources = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts", []):
            volume = sources.get(mount["name"], {})
            local = folder / "volumes" / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                cm = self.kube.get("v1", "ConfigMap", volume["configMap"]["name"], pod["metadata"]["namespace"]) or {}
                for name, data in (cm.get("data") or {}).items():
                    (local / name).write_text(data)
            elif "secret" in volume:
                secret = (
                    self.kube.get("v1", "Secret", volume["secret"]["secretName"], pod["metadata"]["namespace"]) or {}
                )
                for name, data in (secret.get("data") or {}).items():
                    (local / name).write_bytes(base64.b64decode(data))
            mounts[mount["mountPath"].rstrip("/")] = local
        return mounts

    def _kubeconfig(self, namespace: str, account: str, folder: Path) -> Path:
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 7200},
        }
        token = self.kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", request)[
            "status"
        ]["token"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "pod",
            "clusters": [{"name": "c", "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": f"system:serviceaccount:{namespace}:{account}", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "pod",
                    "context": {
                        "cluster": "c",
                        "user": f"system:serviceaccount:{namespace}:{account}",
                        "namespace": namespace,
                    },
                }
            ],
        }
        path = folder / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    # status ---------------------------------------------------------------------------------------------------
    def _report(
        self,
        pod: dict,
        process: PodProcess | None,
        *,
        ready: bool = False,
        exit_code: int | None = None,
        waiting: tuple[str, str] | None = None,
    ) -> None:
        container = pod["spec"]["containers"][0]
        restarts = process.restarts if process else 0
        if waiting is not None:
            phase, state, ready = "Pending", {"waiting": {"reason": waiting[0], "message": waiting[1]}}, False
        elif exit_code is not None:
            phase = "Succeeded" if exit_code == 0 else "Failed"
            state = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}}
        else:
            phase, state = "Running", {"running": {}}
        summary = f"{phase}/{ready}/{restarts}/{yaml.safe_dump(state)}"
        if process is not None and process.reported == summary:
            return
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        flag = "True" if ready else "False"
        status: dict[str, Any] = {
            "phase": phase,
            "hostIP": "10.250.0.1",
            "podIP": "10.244.250.1",
            "podIPs": [{"ip": "10.244.250.1"}],
            "startTime": now,
            "conditions": [
                {"type": t, "status": s, "lastTransitionTime": now}
                for t, s in (
                    ("PodScheduled", "True"),
                    ("Initialized", "True"),
                    ("ContainersReady", flag),
                    ("Ready", flag),
                )
            ],
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": ready,
                    "started": phase == "Running",
                    "restartCount": restarts,
                    "state": state,
                }
            ],
        }
        path = f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}/status"
        self.kube.request("PATCH", path, {"status": status}, "application/merge-patch+json")
        if process is not None:
            process.reported = summary
