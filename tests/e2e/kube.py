"""A small Kubernetes API client for the real-engine tier: discovery, get, list, server-side apply, delete.

The harness needs only these, so it talks REST directly (token auth, the API server's own serving CA) instead of
adding a client library to the project's dependencies.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, body: str, url: str):
        self.status = status
        self.body = body
        try:
            self.reason = json.loads(body).get("message", body)
        except ValueError:
            self.reason = body
        super().__init__(f"{status} from {url}: {self.reason}")


@dataclass(frozen=True)
class Kind:
    group_version: str
    plural: str
    namespaced: bool


def conditions(obj: dict | None) -> dict[str, str]:
    """An object's status conditions, type -> status ("True", "False", "Unknown")."""
    return {c["type"]: c["status"] for c in ((obj or {}).get("status") or {}).get("conditions", [])}


class Kube:
    def __init__(self, server: str, token: str, ca_file: str):
        self.server = server.rstrip("/")
        self._token = token
        self._tls = ssl.create_default_context(cafile=ca_file)
        self._kinds: dict[tuple[str, str], Kind] = {}

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        payload = self.raw(method, path, body, content_type)
        return json.loads(payload) if payload else None

    def raw(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> bytes:
        url = self.server + path
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self._token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self._tls, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, error.read().decode(errors="replace"), url) from None

    # discovery -----------------------------------------------------------------------------------------------
    def kind(self, api_version: str, kind: str) -> Kind:
        key = (api_version, kind)
        if key not in self._kinds:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for resource in self.request("GET", base)["resources"]:
                if "/" not in resource["name"]:
                    self._kinds[(api_version, resource["kind"])] = Kind(
                        api_version, resource["name"], resource["namespaced"]
                    )
        if key not in self._kinds:
            raise LookupError(f"the API server serves no {kind} in {api_version}")
        return self._kinds[key]

    def forget_kinds(self) -> None:
        self._kinds.clear()

    def path(self, api_version: str, kind: str, name: str | None = None, namespace: str | None = None) -> str:
        k = self.kind(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if k.namespaced:
            if not namespace:
                raise ValueError(f"{kind} is namespaced: give a namespace")
            base += f"/namespaces/{namespace}"
        base += f"/{k.plural}"
        return base + (f"/{urllib.parse.quote(name)}" if name else "")

    # objects -------------------------------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.request("GET", self.path(api_version, kind, name, namespace))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
        return self.request("GET", self.path(api_version, kind, namespace=namespace))["items"]

    def list_all(self, api_version: str, kind: str) -> list[dict]:
        """Every object of a kind, in every namespace."""
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        return self.request("GET", f"{base}/{self.kind(api_version, kind).plural}")["items"]

    def apply(self, obj: dict, manager: str = "e2e-harness", force: bool = True) -> dict:
        meta = obj["metadata"]
        query = urllib.parse.urlencode({"fieldManager": manager, "force": "true" if force else "false"})
        path = self.path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.request("PATCH", f"{path}?{query}", obj, "application/apply-patch+yaml")

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self.request("DELETE", self.path(api_version, kind, name, namespace))
        except ApiError as error:
            if error.status != 404:
                raise

    def wait_for(self, what: str, predicate, timeout: float = 60.0, interval: float = 0.25):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)

    def wait_for_crds(self, names: list[str], timeout: float = 60.0) -> None:
        def established() -> bool:
            for name in names:
                crd = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
                if conditions(crd).get("Established") != "True":
                    return False
            return True

        self.wait_for(f"CRDs {', '.join(names)} to be established", established, timeout)
        self.forget_kinds()
