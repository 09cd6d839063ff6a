"""`cluster-tls status`: is TLS working for this stack on the live cluster, and if not, why and what to change
(issue 30). Read-only: list and get, never a write."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..components.secret_guard import SecretGuard
from ..mockrun import Evaluation, Secret
from ..preflight.view import StackView
from ..stackfile import OFFLINE_SECRET_PLACEHOLDER
from .certificates import now_utc
from .collect import Component, collect
from .live import ClusterError, Live, connect
from .report import as_json, as_text

PROVIDER_TYPE = "pulumi:providers:kubernetes"


class StatusInputError(Exception):
    """The stack names a cluster status cannot use (two providers, a secret kubeconfig it cannot decrypt)."""


def _revealed(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


def secret_strings(evaluation: Evaluation, config: dict[str, Any], secret_keys: list[str]) -> list[str]:
    """Every string the stack holds as a secret: its secret config and each secret input, as given."""
    found: list[str] = [str(config[k]) for k in secret_keys if k in config]

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Secret):
            walk(value.reveal(), True)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, secret)
        elif isinstance(value, list):
            for item in value:
                walk(item, secret)
        elif secret and isinstance(value, str):
            found.append(value)

    for registration in evaluation.registrations:
        walk(registration.inputs, False)
    return found


@dataclass(frozen=True)
class Target:
    """The cluster `pulumi up` would use: the program's explicit provider, else the stack's `kubernetes:` config,
    else the ambient kubeconfig; `--kubeconfig`/`--context` override."""

    kubeconfig_text: str | None
    kubeconfig_file: str | None
    context: str | None
    secret: bool = False  # the kubeconfig is a secret of the stack: its server is not shown either

    @property
    def server_label(self) -> str | None:
        return "the API server of the stack's secret kubeconfig" if self.secret else None


def target_of(
    evaluation: Evaluation,
    config: dict[str, Any],
    secret_keys: list[str],
    kubeconfig_file: str | None,
    context: str | None,
) -> Target:
    providers = evaluation.of_type(PROVIDER_TYPE)
    settings = [(p.inputs.get("kubeconfig"), _revealed(p.inputs.get("context"))) for p in providers]
    distinct = {(str(_revealed(k)), str(c)) for k, c in settings}
    if len(distinct) > 1 and kubeconfig_file is None and context is None:
        raise StatusInputError(
            f"the program uses {len(distinct)} Kubernetes providers with different clusters; status reads one: "
            "pass --kubeconfig and --context"
        )
    given, chosen_context = settings[0] if settings else (config.get("kubernetes:kubeconfig"), None)
    secret = isinstance(given, Secret) or (not settings and "kubernetes:kubeconfig" in secret_keys)
    text = _revealed(given)
    chosen_context = chosen_context or config.get("kubernetes:context")
    if kubeconfig_file is not None:
        return Target(None, kubeconfig_file, context or chosen_context or None, secret=False)
    if isinstance(text, str) and text.startswith(OFFLINE_SECRET_PLACEHOLDER):
        raise StatusInputError(
            "the stack's kubeconfig is a secret this command cannot decrypt: set PULUMI_CONFIG_PASSPHRASE or "
            "PULUMI_CONFIG_PASSPHRASE_FILE, or pass --kubeconfig"
        )
    file = None
    if isinstance(text, str) and text and "\n" not in text.strip():
        file, text = text, None  # the provider takes a path as well as contents
    return Target(text or None, file, context or chosen_context or None, secret=secret)


@dataclass
class Result:
    components: list[Component]
    live: Live
    seconds: float

    @property
    def working(self) -> bool:
        """Every component working, and nothing it needed left unread: what it could not read may be broken."""
        return all(c.working for c in self.components) and not self.live.unreadable


def status_once(evaluation: Evaluation, view: StackView, target: Target) -> Result:
    start = time.perf_counter()
    client = connect(target.kubeconfig_text, target.context, target.kubeconfig_file)
    try:
        live = Live(client, label=target.server_label)
        components = collect(evaluation, view, live, now_utc())
    finally:
        client.close()
    return Result(components, live, time.perf_counter() - start)


def render(result: Result, stack: str, fmt: str, guard: SecretGuard) -> Any:
    server = result.live.server
    if fmt == "json":
        document = as_json(
            stack,
            server,
            result.components,
            result.live.unreadable,
            requests=result.live.requests,
            seconds=round(result.seconds, 3),
        )
        return guard_json(document, guard)
    return guard.redact(as_text(stack, server, result.components, result.live.unreadable))


def guard_json(value: Any, guard: SecretGuard) -> Any:
    if isinstance(value, str):
        return guard.redact(value)
    if isinstance(value, dict):
        return {guard.redact(k): guard_json(v, guard) for k, v in value.items()}
    if isinstance(value, list):
        return [guard_json(v, guard) for v in value]
    return value


def watch(once: Callable[[], Result], timeout: float, interval: float, progress: Callable[[str], None]) -> Result:
    """Status again every `interval` s until working or `timeout` s have passed; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = once()
        if result.working or time.monotonic() + interval > deadline:
            return result
        pending = [line.subject for c in result.components for line in c.lines if line.state != "ok"]
        shown = ", ".join(pending[:3]) + (", ..." if len(pending) > 3 else "")
        progress(f"status: {len(pending)} not working yet ({shown})")
        time.sleep(interval)


__all__ = [
    "ClusterError",
    "StatusInputError",
    "Target",
    "render",
    "secret_strings",
    "status_once",
    "target_of",
    "watch",
]
