"""A Helm chart repository on loopback, over HTTPS with a private CA: the chart mirror an air-gapped cluster uses.

The charts are the ones their projects' Go modules carry (tools/e2e/charts/modules.txt, copied by
tools/e2e/build.sh), packaged by the real Helm as their release processes do and indexed by `helm repo index`.
The stacks point at it through `cluster-tls:charts` (a mirror setting users have too); the Kubernetes provider's
Helm fetches index.yaml and the archives from here, trusting the mirror's CA through `caFile`.

- cert-manager: its module's chart says `version: v0.0.0` and is stamped at release (`helm package --version
  <v> --app-version <v>`, cert-manager's make/manifests.mk), so it is packaged as v1.21.1 here.
- Cilium 1.17.6 and 1.20.2: their modules' charts carry their versions. (The proxy serves no other Cilium 1.17+
  module; staging's pinned 1.18.12 cannot be had, so the tests pin 1.20.2 and say so.)
- Istio's gateway chart: the proxy serves only istio.io/istio at a master commit (1.31 in development,
  VERSION file), whose Chart.yaml says 1.0.0 "never actually shipped"; it is packaged as 1.31.0-alpha.<commit>.
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.certs import Pair, issue, make_ca

# Chart folder in the build cache -> (chart version, app version) it is packaged with (None: as its Chart.yaml says)
ISTIO_GATEWAY_VERSION = "1.31.0-alpha.eed52ebb66ad"
PACKAGES = {
    "cert-manager-v1.21.1": ("v1.21.1", "v1.21.1"),
    "cilium-v1.17.6": (None, None),
    "cilium-v1.20.2": (None, None),
    "gateway-v0.0.0-20260827124520-eed52ebb66ad": (ISTIO_GATEWAY_VERSION, ISTIO_GATEWAY_VERSION),
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@dataclass
class ChartRepository:
    helm: Path
    charts: Path  # the build cache's charts folder
    folder: Path
    requests: list[str] = field(default_factory=list)

    def start(self) -> ChartRepository:
        site = self.folder / "site"
        site.mkdir(parents=True)
        for name, (version, app_version) in PACKAGES.items():
            source = self.charts / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing (run tools/e2e/build.sh charts)")
            work = self.folder / "work" / name
            shutil.copytree(source, work)
            argv = [self.helm, "package", work, "-d", site]
            if version:
                argv += ["--version", version, "--app-version", app_version]
            subprocess.run(argv, check=True, capture_output=True, text=True)
        self.ca: Pair = make_ca(self.folder, "chart-mirror-ca")
        serving = issue(self.ca, self.folder, "chart-mirror", dns=("localhost",), ips=("127.0.0.1",))
        requests = self.requests

        class Handler(_Quiet):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(site), **kwargs)

            def do_GET(self):  # noqa: N802 - the base class's name
                requests.append(self.path)
                super().do_GET()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(serving.cert, serving.key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://localhost:{self._server.server_address[1]}/"
        subprocess.run([self.helm, "repo", "index", site, "--url", self.url], check=True, capture_output=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_server", None) is not None:
            self._server.shutdown()
            self._server.server_close()
