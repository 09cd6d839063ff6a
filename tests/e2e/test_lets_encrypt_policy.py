"""Let's Encrypt's own policy as the judge of preflight's D8 and LE3 (issue 29).

Boulder's policy package at a pinned release (tools/e2e/boulder: what its WFE does with a new order's identifiers
and an account's contact) judges thousands of generated names and addresses; D8 must refuse exactly the names
Boulder refuses, with Boulder's own words, and LE3 exactly the contact domains. The generator covers what D8
claims to know: characters and case, label and name lengths, label counts, reserved and punycode labels,
wildcards, IP addresses given as names, public suffixes and TLDs.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from cluster_tls.preflight import run_rules
from cluster_tls.preflight.engine import RULES
from cluster_tls.preflight.view import from_manifests

SEED = int(os.environ.get("CLUSTER_TLS_JUDGE_SEED", "29"))
LE = "https://acme-v02.api.letsencrypt.org/directory"
D8_LE3 = [r for r in RULES if r.id in ("D8", "LE3")]
# ICANN suffixes of one and two labels, a brand TLD, an IDN TLD, and names no public suffix list has.
SUFFIXES = ("com", "org", "io", "dev", "co.uk", "com.au", "xn--p1ai", "google", "internal", "local", "test", "zz")
PIECES = ("a", "web", "shop", "x1", "b-c", "k8s", "Mixed", "UPPER", "9", "under_score", "sp ace", "ü", "xn--bcher-kva")


class Boulder:
    def __init__(self, binary: Path):
        self.process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def refuses(self, **request: str) -> str | None:
        """Boulder's detail, without its "Cannot issue for ...: " frame; empty where it accepts; None for a
        certificateIP cert-manager never sends (net.ParseIP refuses it)."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        answer = json.loads(self.process.stdout.readline())
        refused = answer["refused"]
        if answer.get("unparsed"):
            return None
        return refused.split('": ', 1)[1] if refused.startswith("Cannot issue for ") else refused

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(10)


@pytest.fixture(scope="module")
def boulder(e2e_bin: Path):
    judge = Boulder(e2e_bin / "boulder-judge")
    yield judge
    judge.close()


def _label(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.55:
        return rng.choice(PIECES)
    if kind < 0.65:
        return "x" * rng.choice((62, 63, 64))
    if kind < 0.72:
        return rng.choice(("-a", "a-", "ab--cd", "xn--", "xn--zz", "XN--BCHER-KVA", "xn--bcher-kvaa"))
    if kind < 0.8:
        return rng.choice(("", "*", "a*", "*.", "."))
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rng.randint(1, 12)))


def generated_name(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.08:
        return rng.choice(("10.0.0.1", "8.8.8.8", "::1", "2001:db8::1", "1.2.3", "example.com.", "", "com", "co.uk"))
    labels = [_label(rng) for _ in range(rng.choice((1, 1, 2, 2, 3, 5, 9, 10)))]
    name = ".".join([*labels, rng.choice(SUFFIXES)])
    if rng.random() < 0.2:
        name = "*." + name
    if rng.random() < 0.05:  # over 10 labels, or around 253 bytes in few labels
        long = ".".join(["x" * 63] * 3 + ["y" * rng.randint(55, 62)])
        name = rng.choice((".".join(["a"] * rng.randint(9, 12)) + ".com", f"{long}.com", f"*.{long}.io"))
    return name


def _certificate(name: str) -> list[dict]:
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "le"},
        "spec": {"acme": {"server": LE, "email": "ops@acme-corp.dev", "privateKeySecretRef": {"name": "le"}}},
    }
    spec = {"secretName": "c", "issuerRef": {"name": "le", "kind": "ClusterIssuer"}, "dnsNames": [name]}
    certificate = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}, "spec": spec}
    return [issuer, certificate]


def d8(name: str = "", ip: str | None = None) -> str:
    docs = _certificate(name)
    if ip is not None:
        docs[1]["spec"].update(dnsNames=[], ipAddresses=[ip])
        docs[0]["spec"]["acme"]["profile"] = "shortlived"  # Let's Encrypt issues for IP addresses in it alone
    found = [f.message for f in run_rules(from_manifests(docs), rules=D8_LE3) if f.rule == "D8"]
    assert len(found) <= 1, found
    return found[0].split("': ", 1)[1] if found else ""


V6_HEADS = (
    *("2001:db8", "2001:0", "2001:2", "2001:1", "2002:", "fe80:", "fc00:", "fd12:3456", "ff02:", "64:ff9b", "::"),
    *("64:ff9b:1", "100:", "2606:4700", "2a00:1450", "3fff:", "5f00:", "2001:20", "2001:30"),
)


def generated_ip(rng: random.Random) -> str:
    """Addresses in and around IANA's special-purpose blocks, and public ones, as users write them: IPv4, IPv6 in
    any case and compression, IPv4-mapped, with a zone or leading zeros (text cert-manager never sends)."""
    if rng.random() < 0.5:
        first = rng.choice((0, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255, 1, 8, 9, 45, 151, 185))
        second = rng.choice((0, 0, 16, 31, 88, 168, 18, 51, 254, 64, 127, rng.randrange(256)))
        text = f"{first}.{second}.{rng.choice((0, 2, 99, 100, 113, 170, rng.randrange(256)))}.{rng.randrange(256)}"
        return rng.choice((text, text, text, f"::ffff:{text}", "0" + text))
    head = rng.choice(V6_HEADS)
    tail = ":".join(format(rng.randrange(65536) if rng.random() < 0.6 else 0, "x") for _ in range(rng.randint(1, 3)))
    text = f"{head}::{tail}" if "::" not in head else f"{head}{tail}"
    text = rng.choice((text, text, text.upper(), text + "%eth0"))
    return text


def test_d8_refuses_exactly_the_ip_addresses_boulder_refuses_as_cert_manager_sends_them(boulder):
    rng = random.Random(SEED)
    judged, refused, disagreements = 0, 0, []
    for _ in range(3000):
        text = generated_ip(rng)
        theirs, ours = boulder.refuses(certificateIP=text), d8(ip=text)
        if theirs is None:
            assert ours == "", f"{text!r}: cert-manager never sends it, yet D8 says {ours!r}"
            continue
        judged += 1
        refused += bool(theirs)
        if theirs != ours:
            disagreements.append(f"{text!r}: Boulder {theirs!r}; D8 {ours!r}")
    assert judged >= 1500 and refused >= judged // 4 and judged - refused >= judged // 10, (judged, refused)
    assert disagreements == [], "\n".join(disagreements[:15]) + f"\n({len(disagreements)} of {judged}, seed {SEED})"


def test_d8_refuses_exactly_the_names_boulder_refuses_in_its_words(boulder):
    rng = random.Random(SEED)
    judged, refused, disagreements = 0, 0, []
    for _ in range(3000):
        name = generated_name(rng)
        theirs, ours = boulder.refuses(dns=name), d8(name)
        judged += 1
        refused += bool(theirs)
        if theirs != ours:
            disagreements.append(f"{name!r}: Boulder {theirs!r}; D8 {ours!r}")
    assert refused >= judged // 4 and judged - refused >= judged // 10, (judged, refused)
    assert disagreements == [], "\n".join(disagreements[:15]) + f"\n({len(disagreements)} of {judged}, seed {SEED})"


def le3(email: str) -> str:
    docs = _certificate("a.acme-corp.dev")[:1]
    docs[0]["spec"]["acme"]["email"] = email
    found = [f.message for f in run_rules(from_manifests(docs), rules=D8_LE3) if f.rule == "LE3"]
    return found[0].split("e-mail: ", 1)[1].split(": give a mailbox")[0] if found else ""


def test_le3_refuses_exactly_the_contact_domains_boulder_refuses(boulder):
    """Addresses `local@domain` (what cert-manager's `email` holds) over generated domains, and the forbidden ones."""
    rng = random.Random(SEED)
    disagreements, refused = [], 0
    domains = [generated_name(rng) for _ in range(1500)]
    domains += ["example.com", "EXAMPLE.org", "example.net", "mail.example.com", "acme-corp.dev"]
    for domain in domains:
        if not domain or any(c in domain for c in ' "<>()[]\\,;:@'):
            continue  # not an address net/mail parses: no domain to judge
        email = f"ops@{domain}"
        theirs, ours = boulder.refuses(email=email), le3(email)
        refused += bool(theirs)
        if theirs != ours:
            disagreements.append(f"{email!r}: Boulder {theirs!r}; LE3 {ours!r}")
    assert refused >= 200, refused
    assert disagreements == [], "\n".join(disagreements[:15]) + f"\n({len(disagreements)}, seed {SEED})"


def test_the_shipped_reserved_blocks_are_what_the_script_makes_from_boulder(tmp_path):
    import sys

    out = tmp_path / "iana_reserved.json"
    script = Path(__file__).resolve().parents[2] / "tools" / "iana_reserved.py"
    subprocess.run([sys.executable, script, "--out", out], check=True, capture_output=True)
    shipped = Path(__file__).resolve().parents[2] / "cluster_tls" / "preflight" / "iana_reserved.json"
    assert out.read_text() == shipped.read_text()
