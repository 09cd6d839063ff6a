"""Mutation check: each mutation below must make the test suite fail.

Run: .venv/bin/python tools/mutations.py [name ...]

Not part of CI (it runs the suite once per mutation); the file is restored after each run.
"""

import pathlib
import subprocess
import sys

M = [
    (
        "rotationPolicy Always dropped",
        "components/hubble.py",
        '{"duration": duration, "privateKey": {"rotationPolicy": "Always"}, "isCA": False',
        '{"duration": duration, "isCA": False',
    ),
    (
        "metrics mTLS hard-coded on",
        "components/hubble.py",
        '"mtls": {"enabled": self.metrics.mtls}',
        '"mtls": {"enabled": True}',
    ),
    (
        "cert-manager namespace not passed to CA chains",
        "stacks/config.py",
        "cert_manager=self.cert_manager_args().ref(), production=self.production, chart_mirror=self.charts",
        "production=self.production, chart_mirror=self.charts",
    ),
    (
        "values lose dependency on CA issuer",
        "components/hubble.py",
        "self.helm_values = anchor.apply(lambda _: values)",
        "self.helm_values = pulumi.Output.from_input(values)",
    ),
    (
        "63-char label limit removed",
        "components/model.py",
        "if len(value) > 63 or not _LABEL.match(value):",
        "if not _LABEL.match(value):",
    ),
    (
        "port 0 accepted",
        "components/model.py",
        "not 0 < int(match.group(2)) < 65536",
        "not 0 <= int(match.group(2)) < 65536",
    ),
    (
        "UI client cert without ui",
        "components/hubble.py",
        "        if relay.ui:\n            certs.append",
        "        if True:\n            certs.append",
    ),
    ("relay mTLS hard-coded on", "components/hubble.py", '"mtls": self.relay.server_mtls,', '"mtls": True,'),
    (
        "secret guard not installed",
        "stacks/program.py",
        "guard = secret_guard.install(loaded.guard.secrets)",
        "guard = secret_guard.install([])",
    ),
    (
        "collisions ignored",
        "components/plan.py",
        '                problems.append(f"{claim.describe()} would be written twice',
        '                pass  # problems.append(f"{claim.describe()} would be written twice',
    ),
    (
        "duplicate YAML keys accepted",
        "cluster_tls/stackfile.py",
        "                if strict_keys and key.value in seen:",
        "                if False:",
    ),
    ("broken pipe not handled", "cluster_tls/cli.py", "    except BrokenPipeError:", "    except ZeroDivisionError:"),
    (
        "render folder not replaced",
        "cluster_tls/render_folder.py",
        "                elif _exchange(scratch, out):  # scratch now holds the old render",
        "                elif True:",
    ),
    (
        "namespace check removed",
        "stacks/program.py",
        "            if claim.namespace is not None and claim.namespace not in namespaces:",
        "            if False:",
    ),
    (
        "CRN disagreement allowed",
        "components/certmanager/install.py",
        "        if len(set(crn_sources.values())) > 1:",
        "        if False:",
    ),
    (
        "metrics list dropped from values",
        "components/hubble.py",
        '            "enabled": list(self.metrics.metrics),\n',
        "",
    ),
    (
        "privateKey accepted",
        "components/hubble.py",
        "        if self.private_key is not None:\n            raise",
        "        if False:\n            raise",
    ),
    (
        "direct path drops explicit dependencies",
        "cluster_tls/direct_registration.py",
        "dependencies=tuple(resolver.dependencies),",
        "dependencies=(),",
    ),
    (
        "direct path builds URNs without the parent",
        "cluster_tls/direct_registration.py",
        'urn = MockMonitor.make_urn(monitor, resolver.parent_urn or "", ty, name)',
        'urn = MockMonitor.make_urn(monitor, "", ty, name)',
    ),
    (
        "contains_unknowns misses unknowns inside lists",
        "cluster_tls/offline_shortcuts.py",
        "            if type(item) is list:\n                pending.extend(item)",
        "            if type(item) is list:\n                pass",
    ),
]


def main() -> None:
    only = sys.argv[1:]
    for name, path, old, new in M:
        if only and name not in only:
            continue
        p = pathlib.Path(path)
        text = p.read_text()
        assert old in text, (name, old)
        p.write_text(text.replace(old, new, 1))
        try:
            r = subprocess.run(
                [".venv/bin/python", "-m", "pytest", "-x", "-q", "-p", "no:randomly", "tests/"],
                capture_output=True,
                text=True,
            )
            last = [line for line in r.stdout.splitlines() if line.startswith("FAILED")][:1]
            print(
                ("CAUGHT  " if r.returncode else "SURVIVED"),
                name,
                "|",
                last[0][:150] if last else r.stdout.strip().splitlines()[-1][:150],
            )
        finally:
            p.write_text(text)


if __name__ == "__main__":
    main()
