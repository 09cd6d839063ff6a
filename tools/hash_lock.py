"""`make lock`: add to each pin of a lock file the sha256 of every file PyPI has for that version, so that
`pip install --require-hashes` refuses any other file (issue 19); every platform's wheels, so the lock installs
on any machine.

    python tools/hash_lock.py requirements.lock [requirements-test.lock ...]

Reads the index's JSON simple API (PEP 691), the one pip reads: `PIP_INDEX_URL` or https://pypi.org/simple.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request

INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _file_matches(filename: str, name: str, version: str) -> bool:
    """A wheel `<name>-<version>-...whl` or an sdist `<name>-<version>.tar.gz|.zip`, names compared normalised."""
    stem = filename.lower()
    for suffix in (".tar.gz", ".zip"):
        if stem.endswith(suffix):
            project, _, found = stem.removesuffix(suffix).rpartition("-")
            return _normalized(project) == name and found == version.lower()
    if stem.endswith(".whl"):
        project, found, *_ = stem.split("-")
        return _normalized(project) == name and found == version.lower()
    return False


def hashes(name: str, version: str) -> list[str]:
    request = urllib.request.Request(
        f"{INDEX}/{_normalized(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    found = sorted({f["hashes"]["sha256"] for f in files if _file_matches(f["filename"], _normalized(name), version)})
    if not found:
        raise SystemExit(f"{name}=={version}: the index lists no file for this version")
    return found


def hashed(lock: str) -> str:
    lines = []
    for line in lock.splitlines():
        pin = line.split("\\")[0].strip()
        if not pin or pin.startswith(("#", "--hash")):
            continue
        name, version = pin.split("==")
        lines.append(" \\\n".join([pin, *(f"    --hash=sha256:{digest}" for digest in hashes(name, version))]))
    return "".join(f"{line}\n" for line in lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path) as handle:
            text = hashed(handle.read())
        with open(path, "w") as handle:
            handle.write(text)
