"""Read `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program, without the CLI.

Objects become JSON strings and scalars strings, as in `PULUMI_CONFIG`. Encrypted `secure:` values are
decrypted where the stack's passphrase is given as to the CLI (cluster_tls/passphrase.py), else replaced by a
placeholder; either way their key is marked secret, so they render only as the redaction marker. The file is
read strictly: duplicate keys, non-string keys, recursive anchors and absurd nesting are errors with a location,
not surprises later.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import reads
from .passphrase import PassphraseError, configured_passphrase, decrypter

OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-secret"
# Set while `cluster-tls preview|render|diff` evaluates a stack: secrets that are not set (they live only in the
# operators' stack config) then stand in as [secret] instead of failing the evaluation.
OFFLINE = contextvars.ContextVar("cluster_tls_offline", default=False)
MAX_DEPTH = 64
# Values visited with anchors followed: bounds an alias bomb of tiny values, which the size bound below does not
# see. A plain file reaches it at about 10 MiB; the stack files Pulumi shares with other tools' config can be
# several MiB (benchmarks/large_stack_file.py: 100,000, the bound before, refused a 4 MiB one).
MAX_NODES = 1_000_000


class StackFileError(Exception):
    pass


STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


# What a YAML document may expand to once anchors are followed: an alias multiplies its anchor's size, so a small
# file can stand for gigabytes (issue 19).
MAX_EXPANDED_CHARS = 32 * 1024 * 1024
# libyaml's parser where PyYAML has it, as the emitter already is (cluster_tls/manifests.py); the same documents.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR, _INT, _TIMESTAMP, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "timestamp", "merge"))
# Values a stack file cannot hold as config (JSON has no bytes or sets; Pulumi keeps config as text and JSON).
_NOT_CONFIG_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("binary", "set", "omap", "pairs")}
MAX_INT_DIGITS = 4000  # below Python's int-to-text limit (4300 digits), which a longer one would hit in JSON


def _check_nodes(root: yaml.Node, *, strict_keys: bool = True) -> None:
    """Refuse what PyYAML would accept silently: duplicate keys (the last wins), cycles, alias bombs, depth."""
    visited = 0
    expanded = 0
    path: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> None:
        nonlocal visited, expanded
        visited += 1
        if visited > MAX_NODES:
            raise StackFileError(f"more than {MAX_NODES} values after expanding anchors (an alias bomb?)")
        if depth > MAX_DEPTH:
            raise StackFileError(f"nesting deeper than {MAX_DEPTH} levels at {_where(node)}")
        if id(node) in path:
            raise StackFileError(f"a recursive anchor at {_where(node)}")
        if node.tag in _NOT_CONFIG_TAGS:
            raise StackFileError(
                f"a YAML {node.tag.rsplit(':', 1)[-1]} value at {_where(node)} is not a config value: write it as text"
            )
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _TIMESTAMP:
                # as the Pulumi CLI reads it (gopkg.in/yaml.v3 decode.go: a timestamp into interface{} stays the
                # string written, "for backward compatibility"), not a date that cannot become JSON
                node.tag = _STR
            if node.tag == _INT and len(node.value) > MAX_INT_DIGITS:
                raise StackFileError(
                    f"an integer of {len(node.value)} digits at {_where(node)}: quote it if it is text"
                )
            expanded += len(node.value)
            if expanded > MAX_EXPANDED_CHARS:
                raise StackFileError(
                    f"more than {MAX_EXPANDED_CHARS // 2**20} MiB of text after expanding anchors at {_where(node)}"
                    " (an alias bomb?)"
                )
        elif isinstance(node, yaml.MappingNode):
            path.add(id(node))
            seen: dict[Any, yaml.Node] = {}
            for key, value in node.value:
                if key.tag == _MERGE:  # `<<: *anchor`, which the Pulumi CLI's YAML merges too
                    walk(value, depth + 1)
                    continue
                if strict_keys and (not isinstance(key, yaml.ScalarNode) or key.tag != _STR):
                    raise StackFileError(f"keys must be strings, got {key.tag.rsplit(':', 1)[-1]} at {_where(key)}")
                if strict_keys and key.value in seen:
                    raise StackFileError(
                        f"duplicate key {key.value!r} at {_where(key)} (first at {_where(seen[key.value])})"
                    )
                seen[key.value] = key
                walk(key, depth + 1)
                walk(value, depth + 1)
            path.discard(id(node))
        elif isinstance(node, yaml.SequenceNode):
            path.add(id(node))
            for item in node.value:
                walk(item, depth + 1)
            path.discard(id(node))

    walk(root, 0)


def load_bounded(text: str, *, strict_keys: bool = True) -> Any:
    """One YAML document, parsed once, refused (StackFileError) past the bounds above before it is built."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_nodes(root, strict_keys=strict_keys)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_yaml(path: Path) -> Any:
    """Parse one YAML document strictly; StackFileError (one line, with the file) on anything odd. A file is parsed
    once per content: a preview reads the stack file three times (config, settings, secure paths)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StackFileError(f"cannot read {path}: {error.strerror}") from None
    return copy.deepcopy(_parsed(str(path), data))


@functools.lru_cache(maxsize=16)
def _parsed(path: str, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StackFileError(f"{path} is not UTF-8 text (byte {error.start})") from None
    try:
        return load_bounded(text)
    except StackFileError as error:
        raise StackFileError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise StackFileError(f"{path}: nesting too deep to read") from None


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    stack_config_dir: Path

    @classmethod
    def find(cls, start: Path | None = None, *, search_up: bool = True) -> Project:
        """The project whose Pulumi.yaml is in `start` (or, with search_up, in a folder above it)."""
        here = (start or Path.cwd()).resolve()
        if start is not None and not here.is_dir():
            what = "is a file, not a folder" if here.exists() else "does not exist"
            raise StackFileError(f"project folder {here} {what}")
        for folder in (here, *here.parents) if search_up else (here,):
            project_file = folder / "Pulumi.yaml"
            if project_file.is_file():
                meta = read_yaml(project_file)
                if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                    raise StackFileError(f"{project_file} has no project name")
                config_dir = meta.get("stackConfigDir", ".")
                if not isinstance(config_dir, str):
                    raise StackFileError(f"{project_file}: stackConfigDir must be a folder name")
                return cls(folder, meta["name"], folder / config_dir)
        where = f"{here} or its parents" if search_up else str(here)
        raise StackFileError(f"no Pulumi.yaml in {where}")

    def stack_file(self, stack: str) -> Path:
        # Pulumi's stack names: letters, digits, '-', '_', '.'; anything else could name a file elsewhere.
        if not STACK_NAME.fullmatch(stack) or stack in (".", ".."):
            raise StackFileError(
                f"stack name {stack[:80]!r}: use letters, digits, '-', '_' and '.' (Pulumi's stack names)"
            )
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def offline_placeholder(ciphertext: Any) -> str:
    """What an undecryptable `secure:` value stands in as: the same ciphertext gives the same placeholder, so a
    re-encrypted (changed) secret shows up in a diff, as "changed (redacted)", without being decrypted."""
    return f"{OFFLINE_SECRET_PLACEHOLDER}-{hashlib.sha256(str(ciphertext).encode()).hexdigest()[:12]}"


def _strip_secure(
    value: Any, path: tuple[str, ...] = (), *, decrypt: Callable[[str], str] | None = None
) -> tuple[Any, list[tuple[str, ...]]]:
    """The value with every `{secure: ...}` replaced by its placeholder (or, with `decrypt`, its plaintext), and
    the paths where they were."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            text = decrypt(str(value["secure"])) if decrypt else offline_placeholder(value["secure"])
            if decrypt and not path:
                try:  # a key set as one secret holds a JSON object or list as text, as the CLI passes it
                    parsed = json.loads(text)
                    text = parsed if isinstance(parsed, (dict, list)) else text
                except ValueError:
                    pass
            return text, [path]
        out, found = {}, []
        for k, v in value.items():
            out[k], inner = _strip_secure(v, (*path, str(k)), decrypt=decrypt)
            found += inner
        return out, found
    if isinstance(value, list):
        pairs = [_strip_secure(v, (*path, str(i)), decrypt=decrypt) for i, v in enumerate(value)]
        return [p[0] for p in pairs], [f for p in pairs for f in p[1]]
    return value, []


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stack_entries(project: Project, stack: str) -> dict[str, Any]:
    """The `config:` mapping of a stack file, read strictly."""
    return _stack_document(project, stack)[1]


def _stack_document(project: Project, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the stack file's document, its `config:` mapping), read strictly."""
    path = project.stack_file(stack)
    with reads.reading_stack_file():
        found = path.is_file()
    if not found:
        known = ", ".join(project.stacks()) or "none"
        raise StackFileError(f"stack {stack!r}: no file {path} (stacks: {known})")
    try:
        with reads.reading_stack_file():
            document = read_yaml(path)
    except StackFileError as error:
        raise StackFileError(f"stack {stack!r}: {error}") from None
    if document is None:
        return {}, _with_project_config(project, stack, {})
    if not isinstance(document, dict):
        raise StackFileError(f"stack {stack!r}: {path} must be a mapping with a 'config:' key")
    entries = document.get("config") or {}
    if not isinstance(entries, dict):
        raise StackFileError(f"stack {stack!r}: 'config' in {path} must be a mapping")
    return document, _with_project_config(project, stack, entries)


def environment_imports(document: Any) -> list[str]:
    """The Pulumi ESC environments a stack file imports (`environment: [a, b]` or `environment: {imports: [...]}`):
    config the offline evaluation cannot see."""
    if not isinstance(document, dict) or not document.get("environment"):
        return []
    found = document["environment"]
    if isinstance(found, dict):
        found = found.get("imports") or []
    if isinstance(found, str):
        found = [found]
    return [str(name) if not isinstance(name, dict) else str(next(iter(name), "")) for name in found or []]


_DECLARATION_KEYS = {"type", "description", "items", "default", "value", "secret"}
_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
}


def _project_config(project: Project) -> dict[str, tuple[Any, dict[str, Any]]]:
    """`config:` of Pulumi.yaml (project-level config, Pulumi v3.44+): full key -> (default or None, declaration)."""
    meta = read_yaml(project.root / "Pulumi.yaml")
    declared = meta.get("config") if isinstance(meta, dict) else None
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise StackFileError(f"{project.root / 'Pulumi.yaml'}: 'config' must be a mapping")
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    for key, value in declared.items():
        full_key = str(key) if ":" in str(key) else f"{project.name}:{key}"
        if isinstance(value, dict) and value and set(value) <= _DECLARATION_KEYS:
            found[full_key] = (value.get("value", value.get("default")), value)
        else:
            found[full_key] = (value, {})
    return found


def _with_project_config(project: Project, stack: str, entries: dict[str, Any]) -> dict[str, Any]:
    """The stack's entries over Pulumi.yaml's defaults, checked against its declarations as the Pulumi CLI checks
    them (a declared key with no default must be set; a declared type or secret must hold)."""
    declared = _project_config(project)
    if not declared:
        return entries
    given = {(key if ":" in key else f"{project.name}:{key}"): key for key in entries}
    merged = dict(entries)
    for full_key, (default, declaration) in declared.items():
        if full_key not in given:
            if default is None:
                if declaration.get("type"):
                    raise StackFileError(f"stack {stack!r} is missing configuration value {full_key!r} (Pulumi.yaml)")
                continue
            merged[full_key] = default
            continue
        value = entries[given[full_key]]
        secure = isinstance(value, dict) and set(value) == {"secure"}
        if declaration.get("secret") and not secure:
            raise StackFileError(
                f"stack {stack!r}: configuration key {full_key!r} must be encrypted as it is secret (Pulumi.yaml)"
            )
        check = _TYPE_CHECKS.get(str(declaration.get("type")))
        if check is not None and not secure and not check(value):
            raise StackFileError(
                f"stack {stack!r}: configuration key {full_key!r} must be of type {declaration['type']!r} (Pulumi.yaml)"
            )
    return merged


def config_key_lines(project: Project, stack: str) -> dict[str, int]:
    """The line of each top-level `config:` key of the stack file, by its full key (`cluster-tls:istioGateway`)."""
    try:
        root = yaml.compose(project.stack_file(stack).read_text(), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    lines: dict[str, int] = {}
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            for entry, _ in value.value:
                name = str(entry.value)
                lines[name if ":" in name else f"{project.name}:{name}"] = entry.start_mark.line + 1
    return lines


def load_stack_config(project: Project, stack: str) -> tuple[dict[str, str], list[str]]:
    """The config a program gets: `secure:` values decrypted where the stack's passphrase is given (the CLI's
    PULUMI_CONFIG_PASSPHRASE), placeholders otherwise; their keys secret either way."""
    try:
        document, entries = _stack_document(project, stack)
        decrypt = None
        passphrase = configured_passphrase()
        if passphrase is not None and document.get("encryptionsalt") and secure_paths(entries, project.name):
            decrypt = decrypter(document["encryptionsalt"], passphrase)
        return config_from_entries(entries, project.name, decrypt)
    except PassphraseError as error:
        raise StackFileError(f"stack {stack!r}: {error}") from None
    except StackFileError as error:
        if str(error).startswith("stack "):
            raise
        raise StackFileError(f"stack {stack!r}: {error}") from None


def secure_paths(entries: dict[str, Any], project_name: str) -> dict[str, list[tuple[str, ...]]]:
    """For each full config key, the paths inside it that are `secure:` in the stack file."""
    found = {}
    for key, value in entries.items():
        full_key = key if ":" in key else f"{project_name}:{key}"
        paths = _strip_secure(value)[1]
        if paths:
            found[full_key] = paths
    return found


def config_from_entries(
    entries: dict[str, Any], project_name: str, decrypt: Callable[[str], str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Stack-file `config:` entries -> (config as the engine passes it, keys that hold secrets)."""
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    spelled: dict[str, str] = {}
    for key, value in entries.items():
        full_key = key if ":" in key else f"{project_name}:{key}"
        if full_key in spelled:  # the Pulumi CLI would pass one of them, silently (issue 20)
            raise StackFileError(
                f"config keys {spelled[full_key]!r} and {key!r} are one key, {full_key!r}: give it once"
            )
        spelled[full_key] = key
        plain, secure = _strip_secure(value, decrypt=decrypt)
        config[full_key] = _as_config_string(plain)
        if secure:
            secret_keys.append(full_key)
    return config, secret_keys
