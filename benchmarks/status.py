"""`cluster-tls status` of a whole stack on the real tier (issue 30), next to cmctl's per-certificate approach.
A benchmark, not a test.

    .venv/bin/python benchmarks/status.py [--stack prod] [--runs 5] [--json out.json]

The stack is brought up with `pulumi up` on a fresh platform of the e2e tier (benchmarks/real_stacks.py
stack_up), every Certificate Ready. Then, `--runs` times each:
- `cluster-tls status --stack <stack> --format json` as a process, wall time (the offline evaluation included);
  the cluster part alone and its request count come from the document (`seconds`, `requests`);
- cmctl's approach, replayed: cmctl is not served here (github.com/cert-manager/cmctl/v2 answers 403), so its
  requests for `cmctl status certificate <name>` (cert-manager v1.12.0 cmd/ctl/pkg/status/certificate/
  certificate.go L144-L330: get the Certificate, search its events, get the issuer and its events, get the Secret
  and its events, list the namespace's CertificateRequests and the request's events; for ACME issuers list the
  namespace's Orders and Challenges) are sent with the same client for every Certificate the stack declares,
  one client per certificate as one cmctl process each would make.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from real_stacks import stack_up  # noqa: E402
from report import e2e_binaries, header, write  # noqa: E402

from cluster_tls.status.live import connect  # noqa: E402


def _cmctl_status(kubeconfig: Path, certificate: dict) -> int:
    """The requests of `cmctl status certificate` for one Certificate; how many were sent."""
    client = connect(None, None, str(kubeconfig))
    meta, spec = certificate["metadata"], certificate["spec"]
    namespace = meta["namespace"]
    sent = []

    def get(path: str, **query: str) -> dict:
        sent.append(path)
        response = client.call_api(
            path,
            "GET",
            query_params=list(query.items()),
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
            _preload_content=False,
        )
        return json.loads(response[0].data)

    def events(uid: str) -> None:
        get(f"/api/v1/namespaces/{namespace}/events", fieldSelector=f"involvedObject.uid={uid}")

    try:
        crt = get(f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificates/{meta['name']}")
        events(crt["metadata"]["uid"])
        ref = spec["issuerRef"]
        issuer = get(
            f"/apis/cert-manager.io/v1/clusterissuers/{ref['name']}"
            if ref.get("kind") == "ClusterIssuer"
            else f"/apis/cert-manager.io/v1/namespaces/{namespace}/issuers/{ref['name']}"
        )
        events(issuer["metadata"]["uid"])
        secret = get(f"/api/v1/namespaces/{namespace}/secrets/{spec['secretName']}")
        events(secret["metadata"]["uid"])
        listed = get(f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificaterequests")["items"]
        if listed:
            events(listed[-1]["metadata"]["uid"])
        if "acme" in issuer.get("spec", {}):
            get(f"/apis/acme.cert-manager.io/v1/namespaces/{namespace}/orders")
            get(f"/apis/acme.cert-manager.io/v1/namespaces/{namespace}/challenges")
    finally:
        client.close()
    return len(sent)


def _cmctl_replay(kubeconfig: Path, certificates: list[dict]) -> dict:
    start = time.perf_counter()
    requests = sum(_cmctl_status(kubeconfig, certificate) for certificate in certificates)
    return {"seconds": time.perf_counter() - start, "requests": requests}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    bin_ = e2e_binaries(REPO)
    rows: dict[str, list] = {"status_process_s": [], "status_cluster_s": [], "status_requests": [], "cmctl": []}
    with tempfile.TemporaryDirectory(prefix="cluster-tls-bench-status-") as scratch:
        with stack_up(bin_, args.stack, Path(scratch)) as (platform, project, _):
            kubeconfig = platform.cluster.kubeconfig
            env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
            argv = [sys.executable, "-m", "cluster_tls.cli", "status", "--stack", args.stack, "--format", "json"]
            certificates = platform.cluster.kube.list_all("cert-manager.io/v1", "Certificate")
            for _ in range(args.runs):
                start = time.perf_counter()
                done = subprocess.run([*argv, "--project-dir", str(project)], capture_output=True, text=True, env=env)
                rows["status_process_s"].append(time.perf_counter() - start)
                if done.returncode not in (0, 1):  # 1: something not working, a result like 0
                    raise RuntimeError(f"status exited {done.returncode}: {done.stdout[-3000:]} {done.stderr[-2000:]}")
                document = json.loads(done.stdout)
                rows.setdefault("not_ok_lines", []).append(
                    sum(line["state"] != "ok" for c in document["components"] for line in c["lines"])
                )
                rows["status_cluster_s"].append(document["seconds"])
                rows["status_requests"].append(document["requests"])
                rows["cmctl"].append(_cmctl_replay(kubeconfig, certificates))
    summary = {
        "certificates": len(certificates),
        "status_process_median_s": statistics.median(rows["status_process_s"]),
        "status_cluster_median_s": statistics.median(rows["status_cluster_s"]),
        "status_requests": rows["status_requests"][0],
        "cmctl_replay_median_s": statistics.median(r["seconds"] for r in rows["cmctl"]),
        "cmctl_replay_requests": rows["cmctl"][0]["requests"],
        "status_lines_not_ok": rows["not_ok_lines"][0],  # prod here: the Hubble certificates Cilium's chart makes
    }
    report = {**header("real tier, tests/e2e/platform.py"), "stack": args.stack, "runs": rows, "summary": summary}
    for key, value in summary.items():
        print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    write(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
