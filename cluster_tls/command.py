"""The `cluster-tls` console script: light to import, so that a Ctrl-C while the package itself is still being
imported (a second or so) ends with one line and status 130, not a traceback (issue 28)."""

from __future__ import annotations

import sys


def entry_point() -> int:
    try:
        from .cli import entry_point as run

        return run()
    except KeyboardInterrupt:
        print("cluster-tls: interrupted", file=sys.stderr)
        return 130
