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
