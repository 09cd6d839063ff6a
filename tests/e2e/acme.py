"""ACME on loopback: pebble as the private ACME server, and the DNSPod DNS-01 path through a stand-in.

Pebble (Let's Encrypt's ACME test server, github.com/letsencrypt/pebble/v2 v2.10.3) listens on 127.0.0.1 with a
serving certificate from a CA of the harness, which the stacks' issuers trust through `acmeCaBundle` as a user's
issuer trusts step-ca or Vault; its validation authority resolves through the DNSPod stand-in's nameserver
(`-dnsserver`), and certificates it issues chain to a root it makes per run (`/roots/0` on its management port).

The DNSPod stand-in (tools/e2e/cert-manager/dnspod, see its comment) takes the place of imroc's webhook and of
Tencent's API. Its chart (cert-manager-webhook-dnspod 1.5.3) cannot be had here, so the stacks run with
`dnspod.webhook.install: false` ("installed already"), and the harness installs it first, creating what the
chart creates for the values the stack would pass it (its rendered `values.yaml`):

- ServiceAccount `<fullname>`; RoleBinding `<fullname>:webhook-authentication-reader` (kube-system), and
  ClusterRoleBindings `<fullname>:auth-delegator`, `<fullname>:domain-solver` (to cert-manager's ServiceAccount
  `certManager.serviceAccountName` in `certManager.namespace`), `<fullname>:secret-reader`, with their
  ClusterRoles (templates/rbac.yaml);
- APIService `v1alpha1.<groupName>` for the Service `<fullname>` (templates/apiservice.yaml). Differences: the
  Service is an ExternalName to 127.0.0.2 (no kube-proxy; the chart's is a ClusterIP), and the APIService's
  caBundle is the harness's CA, not injected by cainjector from the chart's pki.yaml Certificates (which would
  need cert-manager before the stack installs it).

The stand-in process runs as that ServiceAccount (a requested token), so the chart's RBAC is what lets it read the
credentials Secret and lets cert-manager's ServiceAccount call it through the API server's aggregation layer.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.e2e.certs import Pair, issue, make_ca
from tests.e2e.cluster import Cluster, Process, free_port
from tests.e2e.kube import conditions

STANDIN_HOST = "127.0.0.2"  # the cert-manager webhook holds 127.0.0.1:443
# Names under these labels of a zone fail as they do in the field (tests/e2e/test_stacks_on_a_platform.py, status):
# pebble refuses an order for a name under REFUSED_DOMAIN (its domainBlocklist: rejectedIdentifier). Two labels:
# pebble v2.10.3 compares a name's labels with a blocked domain's without checking the name has as many
# (db/memorystore.go L536-L539), so a blocked domain longer than a name requested panics the order handler.
REFUSED_DOMAIN = "refused-by-policy.example"
UNSERVED_LABEL = "split-horizon"  # the TXT record is created at DNSPod but no resolver the checks ask sees it


@dataclass
class Pebble:
    cluster: Cluster
    dns: str  # host:port its validation authority resolves with
    blocked: tuple[str, ...] = ()  # domains whose names it refuses to issue for, as a CA's policy does

    def start(self) -> Pebble:
        folder = self.cluster.state / "pebble"
        self.ca: Pair = make_ca(folder, "private-acme-ca")
        serving = issue(self.ca, folder, "pebble", dns=("localhost",), ips=("127.0.0.1",))
        self.port, self.management = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management}",
                "certificate": str(serving.cert),
                "privateKey": str(serving.key),
                # HTTP-01 and TLS-ALPN-01 ports of the validation authority; DNS-01 only here.
                "httpPort": free_port(),
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "domainBlocklist": list(self.blocked),
                "retryAfter": {"authz": 1, "order": 1},
                "keyAlgorithm": "ecdsa",
                "profiles": {"default": {"description": "default", "validityPeriod": 7776000}},
            }
        }
        path = folder / "pebble-config.json"
        path.write_text(json.dumps(config))
        # PEBBLE_VA_NOSLEEP: no random 0-15 s sleep before each validation; PEBBLE_WFE_NONCEREJECT=0: no random
        # badNonce answers (va/va.go, wfe/wfe.go). Both only speed the run; the protocol is the same.
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self.process: Process = self.cluster._spawn(
            "pebble", [self.cluster.bin / "pebble", "-config", path, "-dnsserver", self.dns], env
        )
        self.cluster._wait(self.process, "ACME directory", lambda: _port_open(self.port), 30)
        return self

    @property
    def directory(self) -> str:
        return f"https://localhost:{self.port}/dir"

    def root(self) -> bytes:
        """The root every certificate of this run chains to (pebble's management API)."""
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        with urllib.request.urlopen(f"https://localhost:{self.management}/roots/0", context=context) as response:
            return response.read()


@dataclass
class DnspodStandIn:
    cluster: Cluster
    values: dict[str, Any]  # the values the stack would give the webhook chart (its render)
    release_name: str
    zones: tuple[str, ...]
    secret_id: str
    secret_key: str

    @property
    def fullname(self) -> str:
        chart = "cert-manager-webhook-dnspod"  # templates/_helpers.tpl dnspod-webhook.fullname
        name = self.release_name if chart in self.release_name else f"{self.release_name}-{chart}"
        return name[:63].rstrip("-")

    def objects(self, ca_bundle: bytes) -> list[dict[str, Any]]:
        import base64

        full, ns, group = self.fullname, self.values["namespace"], self.values["groupName"]
        manager = self.values["certManager"]
        account = {"apiGroup": "", "kind": "ServiceAccount", "name": full, "namespace": ns}
        rbac = "rbac.authorization.k8s.io/v1"

        def cluster_role(name: str, rules: list[dict]) -> dict:
            return {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

        def binding(kind: str, name: str, role_kind: str, role: str, subject: dict, namespace: str | None = None):
            meta = {"name": name, **({"namespace": namespace} if namespace else {})}
            return {
                "apiVersion": rbac,
                "kind": kind,
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
                "subjects": [subject],
            }

        return [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": full, "namespace": ns}},
            binding(
                "RoleBinding",
                f"{full}:webhook-authentication-reader",
                "Role",
                "extension-apiserver-authentication-reader",
                account,
                "kube-system",
            ),
            binding("ClusterRoleBinding", f"{full}:auth-delegator", "ClusterRole", "system:auth-delegator", account),
            cluster_role(f"{full}:domain-solver", [{"apiGroups": [group], "resources": ["*"], "verbs": ["create"]}]),
            binding(
                "ClusterRoleBinding",
                f"{full}:domain-solver",
                "ClusterRole",
                f"{full}:domain-solver",
                {
                    "apiGroup": "",
                    "kind": "ServiceAccount",
                    "name": manager["serviceAccountName"],
                    "namespace": manager["namespace"],
                },
            ),
            cluster_role(
                f"{full}:secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch"]}]
            ),
            binding("ClusterRoleBinding", f"{full}:secret-reader", "ClusterRole", f"{full}:secret-reader", account),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": full, "namespace": ns},
                "spec": {
                    "type": "ExternalName",
                    "externalName": STANDIN_HOST,
                    "ports": [{"name": "https", "port": 443}],
                },
            },
            {
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": f"v1alpha1.{group}"},
                "spec": {
                    "group": group,
                    "groupPriorityMinimum": 1000,
                    "versionPriority": 15,
                    "service": {"name": full, "namespace": ns, "port": 443},
                    "version": "v1alpha1",
                    "caBundle": base64.b64encode(ca_bundle).decode(),
                },
            },
        ]

    def start(self) -> DnspodStandIn:
        kube, folder = self.cluster.kube, self.cluster.state / "dnspod"
        ns = self.values["namespace"]
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        ca = make_ca(folder, "dnspod-webhook-ca")
        serving = issue(ca, folder, "dnspod-webhook", dns=(f"{self.fullname}.{ns}.svc",))
        for obj in self.objects(ca.cert_pem):
            kube.apply(obj)
        kubeconfig = self.cluster.service_account_kubeconfig(ns, self.fullname, folder / "kubeconfig")
        self.dns_port = free_port()
        self.process: Process = self.cluster._spawn(
            "dnspod-standin",
            [
                self.cluster.bin / "dnspod-standin",
                f"--bind-address={STANDIN_HOST}",
                "--secure-port=443",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
            ],
            {
                "GROUP_NAME": self.values["groupName"],
                "DNSPOD_STANDIN_DNS": f"127.0.0.1:{self.dns_port}",
                "DNSPOD_STANDIN_ZONES": ",".join(self.zones),
                "DNSPOD_STANDIN_SECRET_ID": self.secret_id,
                "DNSPOD_STANDIN_SECRET_KEY": self.secret_key,
                "DNSPOD_STANDIN_UNSERVED": ",".join(f"{UNSERVED_LABEL}.{zone}" for zone in self.zones),
            },
        )
        group = self.values["groupName"]
        self.cluster._wait(self.process, f"APIService v1alpha1.{group} Available", lambda: self._available(group), 60)
        return self

    @property
    def dns(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def _available(self, group: str) -> bool:
        service = self.cluster.kube.get("apiregistration.k8s.io/v1", "APIService", f"v1alpha1.{group}")
        return conditions(service).get("Available") == "True"

    def records(self) -> str:
        """The stand-in's log of CreateRecord/DeleteRecord calls (names, never credentials)."""
        return self.process.log.read_text(errors="replace")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
