"""`cluster-tls diff`: per object and field, secrets only as "changed (redacted)", text/markdown/json, and
`--against-ref` rendering another git revision with its own code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from cluster_tls.cli import main
from cluster_tls.diffing import format_markdown, format_text, structural_diff

from .support.repository import committed_copy

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path) -> Path:
    """A git repository holding this project, with one commit: the base of a pull request."""
    return committed_copy(REPO, tmp_path / "repo")


def edit(root: Path, stack: str, old: str, new: str) -> None:
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def diff(root: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["--project-dir", str(root), "diff", *args])
    return code, capsys.readouterr().out


def test_a_changed_dns_name_is_shown_as_the_field_that_changed(project, capsys):
    edit(project, "dev", "shop.dev.example.internal", "store.dev.example.internal")
    code, out = diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD")
    assert code == 1
    assert "~ manifests/istio-system/certificate.cert-manager.io.dev-web-tls.yaml" in out
    assert '    spec.dnsNames[0]: "shop.dev.example.internal" -> "store.dev.example.internal"' in out


def test_an_added_namespace_and_a_removed_component(project, capsys):
    edit(project, "dev", "create: [apps]", "create: [apps, tools]")
    text = (project / "stacks/Pulumi.dev.yaml").read_text()
    (project / "stacks/Pulumi.dev.yaml").write_text(text[: text.index("  cluster-tls:istioGateway:")])
    edit(project, "dev", "existing: [istio-system]", "existing: []")
    code, out = diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD")
    assert code == 1
    assert "+ manifests/_cluster/namespace.core.tools.yaml" in out
    assert "- manifests/istio-system/gateway.networking.istio.io.dev-web.yaml" in out
    assert "- outputs/istio-gateway.yaml" in out


def test_a_changed_secret_shows_only_as_changed_redacted(project, capsys):
    stack = project / "stacks" / "Pulumi.dev.yaml"
    edit(
        project,
        "dev",
        "    prometheus: false\n",
        "    prometheus: false\n    values:\n      podLabels:\n        owner:\n          secure: v1:AAAA\n",
    )
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qam", "kube"], check=True
    )
    stack.write_text(stack.read_text().replace("v1:AAAA", "v1:BBBB"))
    code, out = diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD", "--format", "json")
    assert code == 1
    document = json.loads(out)
    changed = {f["path"]: f for c in document["dev"]["files"] for f in c["fields"]}
    assert changed, out
    assert all(f == {"path": f["path"], "change": "changed (redacted)"} for f in changed.values())
    assert "v1:BBBB" not in out and "offline-placeholder" not in out and "[secret:" not in out
    # unchanged ciphertext: no difference at all
    stack.write_text(stack.read_text().replace("v1:BBBB", "v1:AAAA"))
    code, out = diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD")
    assert code == 0, out


def test_markdown_has_a_summary_table_and_collapsible_details(project, capsys):
    edit(project, "staging", "hosts: [shop.example.com]", "hosts: [shop.example.com, cart.example.com]")
    code, out = diff(project, capsys, "--all-stacks", "--against-ref", "HEAD", "--format", "markdown")
    assert code == 1
    assert out.startswith("<!-- cluster-tls diff -->")
    assert "| `staging` | `HEAD` | 0 | 0 | " in out and "| `dev` | `HEAD` | 0 | 0 | 0 |" in out
    assert "<details><summary><code>staging</code>" in out and "<details><summary><code>dev</code>" not in out


def test_no_change_exits_0_and_a_bad_ref_exits_2(project, capsys):
    assert diff(project, capsys, "--stack", "prod", "--against-ref", "HEAD")[0] == 0
    assert main(["--project-dir", str(project), "diff", "--stack", "dev", "--against-ref", "no-such-ref"]) == 2
    assert "no-such-ref" in capsys.readouterr().err


def test_against_ref_uses_that_revisions_own_code(project, capsys):
    # The base revision's code differs (a server port renamed there); its render must come from that code.
    program = project / "components" / "istio_gateway.py"
    old = program.read_text().replace(
        '"name": "https", "protocol": "HTTPS"', '"name": "https-old", "protocol": "HTTPS"'
    )
    assert old != program.read_text()
    program.write_text(old)
    git = ["git", "-C", str(project), "-c", "user.email=t@e", "-c", "user.name=t"]
    subprocess.run([*git, "commit", "-qam", "old code"], check=True)
    code, out = diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD")
    assert code == 1, out
    assert 'spec.servers[0].port.name: "https-old" -> "https"' in out


def test_render_never_writes_salted_digests_whatever_the_environment(project, capsys, monkeypatch, tmp_path):
    # issue 19: render honoured CLUSTER_TLS_SECRET_SALT (meant for a diff's base side) and wrote [secret:<HMAC>]
    # digests into rendered files, which let anyone with the salt test guesses of low-entropy secrets.
    edit(
        project,
        "dev",
        "    prometheus: false\n",
        "    prometheus: false\n    values:\n      podLabels:\n        owner:\n          secure: v1:AAAA\n",
    )
    monkeypatch.setenv("CLUSTER_TLS_SECRET_SALT", "00" * 16)
    out = tmp_path / "render"
    assert main(["--project-dir", str(project), "render", "--stack", "dev", "--out", str(out)]) == 0
    texts = [p.read_text() for p in out.rglob("*.yaml")]
    assert any("[secret]" in t for t in texts)
    assert not any("[secret:" in t for t in texts)


def _file(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=True)


def test_lists_are_compared_element_by_element_by_name_where_kubernetes_merges_by_name():
    # issue 20: one added host rewrote all of spec.servers, as one JSON blob.
    before = {"spec": {"servers": [{"hosts": ["a.example.com"], "port": {"name": "https", "number": 443}}]}}
    after = {
        "spec": {
            "servers": [{"hosts": ["a.example.com", "b.example.com"], "port": {"name": "https", "number": 443}}],
            "ports": [{"name": "http", "port": 80}],
        }
    }
    (change,) = structural_diff({"g.yaml": _file(before)}, {"g.yaml": _file(after)})
    assert [f.describe() for f in change.fields] == [
        'spec.ports: added [{"name": "http", "port": 80}]',
        'spec.servers[0].hosts[1]: added "b.example.com"',
    ]
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    (change,) = structural_diff(
        {"d.yaml": _file({"env": env})}, {"d.yaml": _file({"env": [{"name": "B", "value": "3"}, env[0]]})}
    )
    assert [f.describe() for f in change.fields] == ['env[name="B"].value: "2" -> "3"']
    # Other lists by position, as `pulumi preview --diff` reports them (the e2e tier compares the two).
    (change,) = structural_diff({"h.yaml": _file({"hosts": ["a", "c"]})}, {"h.yaml": _file({"hosts": ["x", "a", "c"]})})
    assert [f.describe() for f in change.fields] == [
        'hosts[0]: "a" -> "x"',
        'hosts[1]: "c" -> "a"',
        'hosts[2]: added "c"',
    ]


def test_path_segments_with_dots_are_quoted_and_added_objects_shown_without_digests():
    key = "reflector.v1.k8s.emberstack.com/reflection-allowed"
    (change,) = structural_diff(
        {"c.yaml": _file({"metadata": {"annotations": {key: "true"}}})},
        {"c.yaml": _file({"metadata": {"annotations": {key: "false"}}})},
    )
    assert change.fields[0].path == f'metadata.annotations["{key}"]'
    (added,) = structural_diff({}, {"s.yaml": _file({"kind": "Secret", "data": {"token": "[secret:0123abcd]"}})})
    assert added.content == {"kind": "Secret", "data": {"token": "[secret]"}}
    text = format_text({"dev": [added, change]}, {"dev": "HEAD"})
    assert "    kind: Secret" in text and "0123abcd" not in text
    markdown = format_markdown({"dev": [added, change]}, {"dev": "HEAD"})
    assert f'-     metadata.annotations["{key}"]: "true"' in markdown
    assert f'+     metadata.annotations["{key}"]: "false"' in markdown
    assert "+ s.yaml\n+   data:\n+     token: '[secret]'\n+   kind: Secret\n" in markdown


def test_a_value_that_becomes_a_secret_or_stops_being_one_is_only_said_to_have_changed():
    # issue 19 mutation sample: either side secret is enough to redact (a plain value must not print beside it)
    from cluster_tls.diffing import _walk

    for before, after in (("plain-value", "[secret:0a1b]"), ("[secret:0a1b]", "plain-value")):
        out = []
        _walk({"data": before}, {"data": after}, "", out)
        assert [(c.path, c.redacted, c.before, c.after) for c in out] == [("data", True, None, None)]


def test_changed_and_added_values_print_their_keys_sorted_whatever_their_order():
    from cluster_tls.diffing import FieldChange, FileChange

    change = FieldChange("spec", before={"b": 1, "a": 2}, after={"b": 2, "a": 1})
    assert change.describe() == 'spec: {"a": 2, "b": 1} -> {"a": 1, "b": 2}'
    assert FieldChange("spec", after={"b": 1, "a": 2}).describe() == 'spec: added {"a": 2, "b": 1}'
    assert FileChange("x.yaml", "added", content={"kind": "Secret", "apiVersion": "v1"}).content_lines() == [
        "    apiVersion: v1",
        "    kind: Secret",
    ]


def test_a_removed_mapping_is_reported_key_by_key_as_an_added_one_is():
    from cluster_tls.diffing import _walk

    out = []
    _walk({"metadata": {"labels": {"a": "1", "b": "2"}}}, {"metadata": {}}, "", out)
    assert [c.describe() for c in out] == [
        'metadata.labels.a: removed (was "1")',
        'metadata.labels.b: removed (was "2")',
    ]


def test_a_rendered_file_with_keys_that_are_not_strings_can_be_compared():
    # Rendered YAML from other tools may key a mapping by number (`80: http`); only stack files are strict.
    from cluster_tls.diffing import _document

    assert _document("x.yaml", "data:\n  80: http\n  443: https\n") == {"data": {80: "http", 443: "https"}}


def test_json_output_carries_an_added_objects_content_and_nothing_for_a_changed_one():
    from cluster_tls.diffing import FieldChange, FileChange, format_json

    changes = [
        FileChange("manifests/apps/certificate.web.yaml", "added", content={"kind": "Certificate"}),
        FileChange("manifests/apps/ingress.web.yaml", "changed", fields=[FieldChange("spec.x", 1, 2)]),
    ]
    files = json.loads(format_json({"dev": changes}, {"dev": "staging"}))["dev"]["files"]
    assert files[0]["content"] == {"kind": "Certificate"}
    assert "content" not in files[1] and files[1]["fields"] == [{"path": "spec.x", "before": 1, "after": 2}]


def test_against_a_render_folder_a_secret_may_have_changed_and_is_never_taken_for_the_same(project, capsys, tmp_path):
    """A render folder keeps `[secret]`, no digest: whether the secret changed cannot be told, so it is said and
    counted (issue 28: it was "no differences" although the secret had been rotated)."""
    edit(
        project,
        "dev",
        "    prometheus: false\n",
        "    prometheus: false\n    values:\n      podLabels:\n        owner:\n          secure: v1:AAAA\n",
    )
    out = tmp_path / "before"
    assert main(["--project-dir", str(project), "render", "--stack", "dev", "--out", str(out)]) == 0
    capsys.readouterr()
    code, text = diff(project, capsys, "--stack", "dev", "--against-dir", str(out))
    assert code == 1
    assert "owner: may have changed (redacted; a render folder keeps no digest of a secret" in text, text
    # the same secret against a revision is compared by digest: no difference
    subprocess.run(["git", "-C", str(project), "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qam", "s"])
    assert diff(project, capsys, "--stack", "dev", "--against-ref", "HEAD")[0] == 0
