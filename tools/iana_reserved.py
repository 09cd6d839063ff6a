"""Generate cluster_tls/preflight/iana_reserved.json: the IANA special-purpose address blocks Let's Encrypt refuses
to issue for, as Boulder reads them (iana/ip.go: every prefix of its embedded IPv4 and IPv6 registries, the most
specific first; its error names the block's RFC and name), for preflight's D8 (issue 29).

    .venv/bin/python tools/iana_reserved.py [--out <the json>]

Input: the Boulder release tools/e2e/boulder/go.mod pins, from its Go module (`go mod download -json`, checksum
verified; it needs Go 1.27, which the go command takes from the module proxy), files iana/data/*.csv. The real tier
judges D8 with Boulder itself (tests/e2e/test_lets_encrypt_policy.py) and regenerates this file.
"""

from __future__ import annotations

import argparse
import csv
import io
import ipaddress
import json
import re
import sys
from pathlib import Path

from go_modules import download

REPO = Path(__file__).resolve().parent.parent
MODULE = "github.com/letsencrypt/boulder"
TOOLCHAIN = "go1.27.3"  # tools/e2e/build.sh, the boulder part


def pinned() -> str:
    found = re.search(rf"^require {re.escape(MODULE)} (\S+)$", (REPO / "tools/e2e/boulder/go.mod").read_text(), re.M)
    if not found:
        raise SystemExit(f"tools/e2e/boulder/go.mod requires no {MODULE}")
    return found.group(1)


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(prefix, RFC, name) of each prefix of one registry, as iana/ip.go parseReservedPrefixFile reads them."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows)
    assert header[:3] == ["Address Block", "Name", "RFC"], header
    found = []
    for row in rows:
        for prefix in re.sub(r"\[\d+\]$", "", row[0]).split(","):
            network = ipaddress.ip_network(prefix.strip())
            found.append((str(network), re.sub(r"\s{2,}", " ", row[2]), row[1]))
    return found


def generate() -> dict[str, object]:
    version = pinned()
    module = download(MODULE, version, TOOLCHAIN)
    data = Path(module["Dir"]) / "iana" / "data"
    found = [*blocks((data / "iana-ipv4-special-registry-1.csv").read_text())]
    found += blocks((data / "iana-ipv6-special-registry-1.csv").read_text())
    # Boulder sorts by prefix length, longest first, so the most specific block names an address.
    found.sort(key=lambda block: -ipaddress.ip_network(block[0]).prefixlen)
    return {"generatedBy": "tools/iana_reserved.py", "from": f"{MODULE}@{version} ({module['Sum']})", "blocks": found}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "cluster_tls" / "preflight" / "iana_reserved.json")
    args = parser.parse_args()
    document = generate()
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(document['blocks'])} blocks -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
