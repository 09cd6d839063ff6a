"""Secrets end to end: a canary in any secret config value never shows in plain text anywhere.

Generic on purpose: it walks every stack file and the config model, so a new component or a new field is
covered without touching this test. For each string a stack sets, and for every SecretStr field and free-form
`values` mapping of the model, the value is replaced by a unique canary stored as `secure:`; the program runs as
`pulumi up` would run it (decrypted config, the key marked secret, the stack file on disk), and the preview,
every rendered file, the logs, the error messages, component outputs and every non-secret resource input are
scanned.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from cluster_tls.manifests import render_files
from cluster_tls.mockrun import Evaluation, Secret, run_program
from cluster_tls.preview import preview_table
from cluster_tls.stackfile import Project, config_from_entries, stack_entries
from cluster_tls.stacks.config import StackConfig
from cluster_tls.stacks.program import main

REPO = Path(__file__).resolve().parent.parent
PROJECT = Project.find(REPO)


def _string_leaves(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _string_leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _string_leaves(v, (*path, i))


def _set(tree, path, value):
    for part in path[:-1]:
        tree = tree.setdefault(part, {}) if isinstance(tree, dict) else tree[part]
    tree[path[-1]] = value


def _secret_model_paths(model: type[BaseModel], path=()):
    """Alias paths of SecretStr fields and free-form dict fields in the config model."""
    for name, field in model.model_fields.items():
        alias = (*path, field.alias or name)
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if annotation is SecretStr or SecretStr in args:
            yield alias, "secret"
        elif annotation is dict or getattr(annotation, "__origin__", None) is dict:
            yield alias, "values"
        for inner in (annotation, *args):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                # a list of models: its first entry (the stacks that use the list configure one)
                listed = getattr(annotation, "__origin__", None) is list
                yield from _secret_model_paths(inner, (*alias, 0) if listed else alias)


def _plain_strings(value, found):
    if isinstance(value, Secret):
        return
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _plain_strings(k, found)
            _plain_strings(v, found)
    elif isinstance(value, list):
        for v in value:
            _plain_strings(v, found)


def _run_with_canary(tmp_path: Path, stack: str, key: str, path: tuple, canary: str, *, whole_key=False):
    """Run the stack with `canary` at key/path, as the Pulumi CLI would pass it after decrypting."""
    entries = stack_entries(PROJECT, stack)
    decrypted = copy.deepcopy(entries)
    on_disk = copy.deepcopy(entries)
    full_key = f"cluster-tls:{key}"
    decrypted.setdefault(full_key, {})
    if path:
        _set(decrypted[full_key], path, canary)
        on_disk.setdefault(full_key, {})
        _set(on_disk[full_key], path, {"secure": "v1:ciphertext"})
    else:
        decrypted[full_key] = canary
    if whole_key:
        on_disk[full_key] = {"secure": "v1:ciphertext"}
    project = tmp_path / f"{stack}-{key}-{'-'.join(map(str, path))}"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": on_disk}))
    config, _ = config_from_entries(decrypted, "cluster-tls")
    evaluation = Evaluation()
    error = ""
    try:
        run_program(
            main, stack=stack, config=config, secret_keys=[full_key], evaluation=evaluation, cwd=project, offline=True
        )
    except Exception as raised:  # a canary that does not fit the field: the message must still not show it
        error = str(raised)
    return evaluation, error


def _leaks(evaluation: Evaluation, error: str, canary: str) -> list[str]:
    places = []
    if canary in error:
        places.append("error message")
    if not error:
        if canary in preview_table(evaluation, "stack"):
            places.append("preview")
        places += [f"rendered {p}" for p, text in render_files(evaluation).items() if canary in text]
    places += [f"log {line!r}" for line in evaluation.logs if canary in line]
    for reg in evaluation.registrations:
        found: list[str] = []
        _plain_strings(reg.inputs, found)
        places += [f"plain input of {reg.name}" for s in found if canary in s]
    for urn, outputs in evaluation.outputs.items():
        found = []
        _plain_strings(outputs, found)
        places += [f"outputs of {urn.rsplit('::', 1)[-1]}" for s in found if canary in s]
    return places


def _secret_texts(value) -> str:
    """The text of every secret in `value`, wherever it is nested."""
    if isinstance(value, Secret):
        return str(value.reveal())
    if isinstance(value, dict):
        return "".join(_secret_texts(v) for v in value.values())
    if isinstance(value, list):
        return "".join(_secret_texts(v) for v in value)
    return ""


def _cases():
    cases = []
    for stack in PROJECT.stacks():
        for key, value in stack_entries(PROJECT, stack).items():
            short = key.split(":", 1)[1]
            for path in _string_leaves(value):
                cases.append((stack, short, path))
    return cases


CASES = _cases()


def test_the_canary_walk_covers_every_stack_and_many_values():
    assert {stack for stack, _, _ in CASES} == set(PROJECT.stacks())
    assert len(CASES) >= 30


@pytest.mark.parametrize("stack,key,path", CASES, ids=[f"{s}:{k}.{'.'.join(map(str, p))}" for s, k, p in CASES])
def test_a_secret_string_anywhere_in_a_stack_file_never_shows_in_plain_text(tmp_path, stack, key, path):
    # A canary shaped like a DNS label, so that it passes as names, namespaces, subjects and free text alike.
    canary = "c4nary0" + format(abs(hash((stack, key, path))) % 10**8, "08d") + "x"
    evaluation, error = _run_with_canary(tmp_path, stack, key, path, canary)
    assert _leaks(evaluation, error, canary) == []


def _configured_parent(path) -> str | None:
    """A stack whose file sets everything above `path` (so the canary lands in a section that is built)."""
    key, *inner = path
    for stack in PROJECT.stacks():
        tree = stack_entries(PROJECT, stack).get(f"cluster-tls:{key}")
        for part in inner[:-1]:
            if isinstance(tree, dict):
                tree = tree.get(part)
            elif isinstance(tree, list) and isinstance(part, int) and part < len(tree):
                tree = tree[part]
            else:
                tree = None
        if tree is not None or key in ("kubernetes", "certManager"):
            return stack
    return None


ALL_MODEL_SECRETS = list(_secret_model_paths(StackConfig))
# Secret fields and free-form values inside sections some stack builds; the others have no config to land in.
MODEL_SECRETS = [(p, kind) for p, kind in ALL_MODEL_SECRETS if _configured_parent(p) is not None]


def test_the_model_walk_finds_secret_fields_and_free_form_values():
    paths = {".".join(map(str, p)) for p, _ in ALL_MODEL_SECRETS}
    assert {"kubernetes.kubeconfig", "certManager.values", "hubble.release.values"} <= paths
    assert {"dnspod.credentials.secretId", "dnspod.credentials.secretKey"} <= paths


def test_every_component_with_secret_fields_is_built_by_some_stack():
    keys = {path[0] for path, _ in ALL_MODEL_SECRETS if path[-1] != "annotations"} - {"kubernetes", "certManager"}
    built = {k.split(":", 1)[1] for s in PROJECT.stacks() for k in stack_entries(PROJECT, s)}
    assert keys <= built, f"no stack builds {sorted(keys - built)}: its secrets go untested"


@pytest.mark.parametrize("path,kind", MODEL_SECRETS, ids=[".".join(map(str, p)) for p, _ in MODEL_SECRETS])
@pytest.mark.parametrize("whole_key", [False, True], ids=["path", "whole-key"])
def test_secret_fields_and_secret_helm_values_stay_secret(tmp_path, path, kind, whole_key):
    key, *inner = path
    canary = "c4nary-" + "-".join(map(str, path)).lower() + "-x"
    if kind == "values":
        inner = [*inner, "canaryValue"]
    stack = _configured_parent(path)  # a stack that builds the section the field belongs to
    evaluation, error = _run_with_canary(tmp_path, stack, key, tuple(inner), canary, whole_key=whole_key)
    assert _leaks(evaluation, error, canary) == []
    if key != "kubernetes" or not whole_key:
        assert not error, error
        # and the value did arrive, as a secret
        revealed = [reg.name for reg in evaluation.registrations if canary in _secret_texts(reg.inputs)]
        assert revealed, f"{'.'.join(path)} reached no resource"


def test_a_secret_too_short_to_find_does_not_mark_every_input():
    # issue 19: a one-character secret marked every input containing that letter as secret
    # (paths became helm/[secret]/...).
    from cluster_tls.components.secret_guard import SecretGuard

    guard = SecretGuard(["a", "xy", "S3cr.et-Ünïcode"])
    assert guard.redact("cert-manager a.b S3cr.et-Ünïcode") == "cert-manager a.b [secret]"
    assert not guard.contains("cert-manager") and guard.contains({"k": ["S3cr.et-Ünïcode"]})


def _shaped(path: tuple, unique: str) -> str:
    """A canary as real secrets are: dots, capitals, non-ASCII (an e-mail where the field wants one)."""
    if path and path[-1] == "email":
        return f"Ops.Cänary{unique}@Example.ORG"
    return f"Cänary{unique}.Example.ORG"


def _everything_plain(evaluation: Evaluation, error: str) -> str:
    """Every text a user or a reader of state could see, including the paths render writes."""
    texts = [error, *evaluation.logs]
    if not error:
        files = render_files(evaluation)
        texts += [preview_table(evaluation, "stack"), *files, *files.values()]
    for reg in evaluation.registrations:
        _plain_strings(reg.inputs, texts)
        texts.append(reg.urn)
    for outputs in evaluation.outputs.values():
        _plain_strings(outputs, texts)
    return "\n".join(texts)


# issue 19: the canaries above are shaped like DNS labels, so they could not see a secret that the package lowers,
# IDNA-encodes, normalises or turns into a Kubernetes name. These carry a unique run of digits that every form
# derived from them keeps, and which appears nowhere unless the canary leaked.
@pytest.mark.parametrize("stack,key,path", CASES, ids=[f"{s}:{k}.{'.'.join(map(str, p))}" for s, k, p in CASES])
def test_a_secret_with_dots_capitals_and_non_ascii_never_shows_in_any_derived_form(tmp_path, stack, key, path):
    unique = format(abs(hash(("shaped", stack, key, path))) % 10**9, "09d")
    evaluation, error = _run_with_canary(tmp_path, stack, key, path, _shaped(path, unique))
    assert unique not in _everything_plain(evaluation, error)


@pytest.mark.parametrize("parts", [("dnspod", "Top.Secret Name"), ("dnspod", "Top.Secret Name", "apps")])
def test_a_name_made_from_a_secret_keeps_its_plain_first_part_and_digests_the_rest(parts):
    # issue 19 mutation sample: with two parts (a component and one secret value) the secret must not reach the name
    from cluster_tls.components import secret_guard

    made = {}

    def program():
        secret_guard.install(["Top.Secret Name"])
        made["object"] = secret_guard.object_name(*parts)
        made["resource"] = secret_guard.resource_name("dnspod-route", *parts[1:])
        made["plain"] = secret_guard.object_name("dnspod", "apps")

    run_program(program)
    for name in (made["object"], made["resource"]):
        assert "top" not in name.lower() and "secret" not in name.lower(), name
    assert made["object"].startswith("dnspod-") and made["resource"].startswith("dnspod-route-")
    assert made["plain"] == "dnspod-apps"


def test_a_secret_that_contains_another_is_redacted_whole():
    # longest first: replacing "Tenant" before "Tenant.Key-2" would leave ".Key-2" of the longer secret in the text
    from cluster_tls.components.secret_guard import SecretGuard

    guard = SecretGuard(["Tenant", "Tenant.Key-2"])
    assert guard.redact("id Tenant.Key-2 and Tenant") == "id [secret] and [secret]"


def test_a_key_secret_as_a_whole_keeps_the_packages_own_words_and_objects_reviewable(tmp_path):
    # issue 19: with `istioGateway` encrypted as a whole, each of its strings was a secret found by substring:
    # `certificateFrom: dnspod` made the webhook chart and everything named "...dnspod..." secret, and the
    # preflight crashed on a secret chart name. Its own values stay secret; the package's words do not.
    entries = stack_entries(PROJECT, "staging")
    gateway = entries["cluster-tls:istioGateway"]
    evaluation, error = _run_with_canary(
        tmp_path, "staging", "istioGateway", ("name",), gateway["name"] + "-shop", whole_key=True
    )
    assert not error, error
    files = render_files(evaluation)
    assert "helm/cert-manager/cert-manager-webhook-dnspod/release.yaml" in files
    assert not [path for path in files if "[secret]" in path]
    release = yaml.safe_load(files["helm/cert-manager/cert-manager-webhook-dnspod/release.yaml"])
    assert release["chart"] == "cert-manager-webhook-dnspod"
    from cluster_tls.cli import stack_settings
    from cluster_tls.preflight import run_rules
    from cluster_tls.preflight.engine import errors as preflight_errors
    from cluster_tls.preflight.view import from_evaluation

    _, waivers = stack_settings(PROJECT, "staging")
    findings = run_rules(from_evaluation(evaluation, production=False), waivers)
    assert not preflight_errors(findings), findings
    # the gateway's own free text stays secret: its hosts are nowhere in plain text
    assert gateway["hosts"][0] not in _everything_plain(evaluation, error)


def test_names_made_from_different_secrets_differ_and_stay_within_the_kubernetes_limit():
    # mutation sample (seed 23): a digest of the wrong parts gave every secret the same name (two objects, one
    # name); a default limit of 64 let a long plain name past Kubernetes' 63 characters.
    from cluster_tls.components import secret_guard

    made = {}

    def program():
        secret_guard.install(["First.Secret", "Second.Secret"])
        made["first"] = secret_guard.object_name("dnspod", "First.Secret")
        made["second"] = secret_guard.object_name("dnspod", "Second.Secret")
        made["long"] = secret_guard.object_name("dnspod", "x" * 80)

    run_program(program)
    assert made["first"] != made["second"]
    assert len(made["long"]) <= 63 and made["long"].startswith("dnspod-x")
