"""Point KubeSphere at HTTPS Whizard endpoints: a minimal, comment-preserving edit of `kubesphere.yaml`.

The `kubesphere-config` ConfigMap holds one YAML document that KubeSphere owns; only the monitoring and alerting
endpoints and their TLS client settings change, every other key, comment and quoting stays as it is (ruamel.yaml
round-trip). The edit is idempotent. The field names follow the seed's document (seed 000 §3:
`observability.monitoring.{endpoint,httpClientConfig.tlsConfig}`, `alerting.{thanosRulerEndpoint,
thanosRulerHTTPClientConfig.tlsConfig}`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.util import load_yaml_guess_indent

# (endpoint path, TLS config path) pairs in the document.
TARGETS = (
    (("observability", "monitoring", "endpoint"), ("observability", "monitoring", "httpClientConfig", "tlsConfig")),
    (("alerting", "thanosRulerEndpoint"), ("alerting", "thanosRulerHTTPClientConfig", "tlsConfig")),
)


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any

    def line(self) -> str:
        return f"{self.path}: {self.before!r} -> {self.after!r}"


def _yaml(mapping_indent: int = 2, sequence_offset: int = 2) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping_indent, sequence=mapping_indent + sequence_offset, offset=sequence_offset)
    return yaml


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _set(document: CommentedMap, path: tuple[str, ...], value: Any, changes: list[Change]) -> None:
    node = document
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = CommentedMap()
        node = node[part]
    before = _plain(node.get(path[-1]))
    if before != value:
        node[path[-1]] = value
        changes.append(Change(".".join(path), before, value))


def point_at_https(document: str, endpoint: str, tls_config: dict[str, Any]) -> tuple[str, list[Change]]:
    """The document with both endpoints set to `endpoint` and their tlsConfig to `tls_config`, and the changes."""
    # Keep the document's own indentation (booleans such as `True` come out as `true`: same value).
    _, indent, sequence_offset = load_yaml_guess_indent(document)
    yaml = _yaml(indent or 2, sequence_offset if sequence_offset is not None else 2)
    parsed = yaml.load(document) or CommentedMap()
    if not isinstance(parsed, dict):
        raise ValueError("kubesphere.yaml is not a YAML mapping")
    changes: list[Change] = []
    for endpoint_path, tls_path in TARGETS:
        _set(parsed, endpoint_path, endpoint, changes)
        _set(parsed, tls_path, CommentedMap(tls_config), changes)
    if not changes:
        return document, []
    out = io.StringIO()
    yaml.dump(parsed, out)
    return out.getvalue(), changes
