"""Draw docs/benchmarks/*.png from the JSON the benchmarks wrote (needs matplotlib: `make bench-setup`).

.venv-cdk8s/bin/python benchmarks/plot.py docs/benchmarks
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

folder = Path(sys.argv[1])
fleet = json.loads((folder / "fleet.json").read_text())
rows = fleet["rows"]
figure, axis = plt.subplots(figsize=(7, 4.5))
for kind, label in (
    ("package", "cluster-tls render"),
    ("raw-pulumi", "raw Pulumi mock"),
    ("cdk8s", "cdk8s synth"),
    ("floor", "YAML floor (libyaml)"),
):
    if kind in rows[0]:
        axis.plot([r["objects"] for r in rows], [r[kind] for r in rows], marker="o", label=label)
axis.set_xscale("log")
axis.set_yscale("log")
axis.set_xlabel("Kubernetes objects")
axis.set_ylabel("seconds (median)")
axis.set_title(f"Offline evaluation at fleet scale ({fleet['machine']}, {fleet['date']})", fontsize=9)
axis.legend()
axis.grid(True, which="both", alpha=0.3)
figure.tight_layout()
figure.savefig(folder / "fleet.png", dpi=110)

tls = json.loads((folder / "tls_cost.json").read_text())
full = [r for r in tls["rows"] if r["tls"] == "1.3" and not r["resumed"]]
keys = list(dict.fromkeys(r["key"] for r in full))
figure, axis = plt.subplots(figsize=(7, 4.5))
width = 0.38
for offset, mtls in ((-width / 2, False), (width / 2, True)):
    values = [
        next(r["server_cpu_ms"] + r["client_cpu_ms"] for r in full if r["key"] == k and r["mtls"] == mtls) for k in keys
    ]
    axis.bar([i + offset for i in range(len(keys))], values, width, label="mTLS" if mtls else "server auth only")
axis.set_xticks(range(len(keys)), keys)
axis.set_ylabel("CPU ms per full TLS 1.3 handshake (server + client)")
axis.set_title(f"TLS cost by key type ({tls['date']})", fontsize=9)
axis.legend()
figure.tight_layout()
figure.savefig(folder / "tls_cost.png", dpi=110)
