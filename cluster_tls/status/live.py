"""Read the live cluster for `cluster-tls status`: one list call per kind (per namespace only where a cluster-wide
list is forbidden), never a write.

The official Kubernetes client (kubernetes-client/python) loads kubeconfig as kubectl does: a KUBECONFIG list of
files merged (kube_config.py KubeConfigMerger), contexts, exec credential plugins, in-cluster service accounts.
lightkube reads one KUBECONFIG file (lightkube/config/kubeconfig.py from_env), kr8s is async-first. The client's
dynamic module would cache discovery in a file under the temporary folder (dynamic/discovery.py Discoverer), so
discovery here is one GET per group version, kept in memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import config as kubeconfig
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

TIMEOUT_S = 10


class ClusterError(Exception):
    """The cluster cannot be reached or the kubeconfig not loaded: nothing can be said about the stack."""


@dataclass(frozen=True)
class Unreadable:
    """A kind (in a namespace, or everywhere) the reader could not list, and why."""

    api_version: str
    kind: str
    namespace: str | None
    reason: str
    served: bool = True  # False: the API server has no such kind (its CRD is not installed)

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"cannot list {self.kind} ({self.api_version}){where}: {self.reason}"


def _reason(error: ApiException) -> str:
    try:
        message = json.loads(error.body or "{}").get("message")
    except ValueError:
        message = None
    return f"{error.status} {error.reason}" + (f" ({message})" if message else "")


def _api_version(api_version: str) -> str:
    """As the API server names it: Pulumi's `core/v1` is the core group's `v1`."""
    return api_version.removeprefix("core/")


def _group(group: str) -> str:
    return "" if group == "core" else group


def _cause(error: BaseException) -> str:
    """The innermost reason of a connection failure (refused, timed out, TLS), without the address."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        inner = getattr(current, "reason", None)
        current = inner if isinstance(inner, BaseException) else current.__cause__ or current.__context__
    return type(error).__name__


def connect(kubeconfig_text: str | None, context: str | None, kubeconfig_file: str | None = None) -> ApiClient:
    """An API client for the context `pulumi up` would use: given kubeconfig contents (the stack's provider), else a
    file, else KUBECONFIG or ~/.kube/config, else the in-cluster service account. Tokens are not written back."""
    try:
        if kubeconfig_text:
            import yaml

            loaded = yaml.safe_load(kubeconfig_text)
            if not isinstance(loaded, dict):
                raise ConfigException("the stack's kubeconfig is not a kubeconfig document")
            return kubeconfig.new_client_from_config_dict(loaded, context=context, persist_config=False)
        try:
            return kubeconfig.new_client_from_config(kubeconfig_file, context=context, persist_config=False)
        except ConfigException as error:
            if kubeconfig_file or context or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                raise ClusterError(
                    f"cannot load the kubeconfig ({error}): set KUBECONFIG, pass --kubeconfig, or give the stack "
                    "kubernetes:kubeconfig"
                ) from None
            from kubernetes.client import Configuration
            from kubernetes.config.incluster_config import load_incluster_config

            configuration = Configuration()
            load_incluster_config(client_configuration=configuration)
            return ApiClient(configuration)
    except (ConfigException, OSError) as error:
        raise ClusterError(f"cannot load the kubeconfig: {error}") from None


@dataclass
class Live:
    """What was read: objects by (group, kind) and what could not be read."""

    client: ApiClient
    label: str | None = None  # how to name the server when its address is secret
    objects: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    requests: int = 0
    _resources: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return self.label or self.client.configuration.host

    def _get(self, path: str, query: Iterable[tuple[str, str]] = ()) -> Any:
        self.requests += 1
        try:
            response = self.client.call_api(
                path,
                "GET",
                query_params=list(query),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=TIMEOUT_S,
            )
        except HTTPError as error:
            raise ClusterError(f"cannot reach {self._where()}: {_cause(error)}") from None
        except ApiException as error:
            if error.status == 401:
                raise ClusterError(f"{self._where()} refused the kubeconfig's credentials: {_reason(error)}") from None
            raise
        return json.loads(response[0].data)

    def _where(self) -> str:
        return self.label or f"the API server at {self.client.configuration.host}"

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """(path prefix with plural, namespaced) of a kind, from the group version's discovery; None if not served."""
        if api_version not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                listed = self._get(base)
            except ApiException as error:
                if error.status != 404:
                    raise
                listed = {"resources": []}
            self._resources[api_version] = {
                r["kind"]: (f"{base}/{r['name']}", r["namespaced"])
                for r in listed.get("resources", [])
                if "/" not in r["name"]
            }
        return self._resources[api_version].get(kind)

    def read(self, api_version: str, kind: str, namespaces: Iterable[str], *, everywhere: bool = True) -> None:
        """List `kind` into `objects`: everywhere in one call, or in each of `namespaces` where that is forbidden
        or not wanted (Secrets are read only where the stack reads or writes them)."""
        api_version = _api_version(api_version)
        key = (api_version.rpartition("/")[0], kind)
        if key in self.objects:
            return
        try:
            found = self._resource(api_version, kind)
        except ApiException as error:
            self.unreadable.append(Unreadable(api_version, kind, None, _reason(error)))
            self.objects[key] = []
            return
        if found is None:
            self.unreadable.append(
                Unreadable(api_version, kind, None, "the API server does not serve this kind", served=False)
            )
            self.objects[key] = []
            return
        prefix, namespaced = found
        items: list[dict[str, Any]] = []
        if not namespaced or everywhere:
            try:
                items = self._get(prefix)["items"]
                self.objects[key] = [self._with_kind(i, api_version, kind) for i in items]
                return
            except ApiException as error:
                if not namespaced or error.status != 403:
                    self.unreadable.append(Unreadable(api_version, kind, None, _reason(error)))
                    self.objects[key] = []
                    return
        base, _, plural = prefix.rpartition("/")
        for namespace in sorted(set(namespaces)):
            try:
                items += self._get(f"{base}/namespaces/{namespace}/{plural}")["items"]
            except ApiException as error:
                self.unreadable.append(Unreadable(api_version, kind, namespace, _reason(error)))
        self.objects[key] = [self._with_kind(i, api_version, kind) for i in items]

    @staticmethod
    def _with_kind(item: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
        return {"apiVersion": api_version, "kind": kind, **item}

    def of(self, group: str, kind: str) -> list[dict[str, Any]]:
        return self.objects.get((_group(group), kind), [])

    def find(self, group: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        for item in self.of(group, kind):
            meta = item.get("metadata", {})
            if meta.get("name") == name and meta.get("namespace") == namespace:
                return item
        return None

    def could_not_read(self, group: str, kind: str, namespace: str | None) -> Unreadable | None:
        for gap in self.unreadable:
            if gap.api_version.rpartition("/")[0] == _group(group) and gap.kind == kind:
                if gap.namespace is None or gap.namespace == namespace:
                    return gap
        return None
