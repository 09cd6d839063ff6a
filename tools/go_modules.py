"""One Go module at one version from the Go module proxy, as the scripts that read upstream data from modules take
it: `go mod download -json` (checksum-verified against the Go checksum database)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any


def download(module: str, version: str, toolchain: str | None = None) -> dict[str, Any]:
    """Its `Dir`, `Sum` and `Origin` (the tag's commit); `toolchain` for a module whose go.mod needs a newer Go
    than this machine's (GOTOOLCHAIN: the go command takes that release from the module proxy)."""
    env = {**os.environ, "GOTOOLCHAIN": toolchain} if toolchain else None
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, env=env
    )
    found = json.loads(result.stdout or "{}")
    if result.returncode or "Dir" not in found:
        raise SystemExit(f"go mod download {module}@{version} failed: {result.stderr.strip() or found}")
    return found
