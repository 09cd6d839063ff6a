"""What every benchmark report records besides its figures (the date and the machine), and how it is written."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def header(*details: str) -> dict[str, str]:
    machine = ", ".join([f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}", *details])
    return {"date": time.strftime("%Y-%m-%d"), "machine": machine}


def write(path: Path | None, report: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n")


def e2e_binaries(repo: Path) -> Path:
    """The real tier's bin folder, built or reused by tools/e2e/build.sh (its last line of output)."""
    import subprocess

    built = subprocess.run([repo / "tools/e2e/build.sh"], check=True, capture_output=True, text=True)
    return Path(built.stdout.strip().splitlines()[-1])
