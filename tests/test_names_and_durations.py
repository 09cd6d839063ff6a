from datetime import timedelta

import pytest

from cluster_tls.components.durations import parse_go_duration
from cluster_tls.components.hosts import CertificateNames, covered, covers
from cluster_tls.components.names import child_name, k8s_name


def test_k8s_name_joins_and_normalises_parts():
    assert k8s_name("Private CA", "ca") == "private-ca-ca"
    assert k8s_name("hubble", "", "ca") == "hubble-ca"


def test_k8s_name_truncates_long_names_with_a_stable_hash():
    long = k8s_name("x" * 80, "ca-certificate")
    assert len(long) == 63
    assert long == k8s_name("x" * 80, "ca-certificate")
    assert long != k8s_name("x" * 81, "ca-certificate")
    assert long[-9] == "-"


def test_k8s_name_refuses_parts_with_nothing_usable():
    with pytest.raises(ValueError, match="cannot derive"):
        k8s_name("--", "")


def test_child_name_is_component_dash_role():
    assert child_name("private-ca", "ca-issuer") == "private-ca-ca-issuer"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("87600h", timedelta(hours=87600)),
        ("1h30m", timedelta(minutes=90)),
        ("2160h0m0s", timedelta(days=90)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        ("0", timedelta(0)),
    ],
)
def test_parse_go_duration_accepts_go_syntax(text, expected):
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10d", "h", "1h 30m", "-1h", "90", "1y"])
def test_parse_go_duration_refuses_other_syntax(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


NAMES = ["*.example.com", "example.com", "a.b.example.org", "*.b.example.org", "*"]
HOSTS = [
    "example.com",
    "a.example.com",
    "a.b.example.com",
    "*.example.com",
    "*.a.example.com",
    ".example.com",
    "a.b.example.org",
    "c.b.example.org",
    "b.example.org",
    "x",
    "*",
    "",
]


@pytest.mark.parametrize("host", HOSTS)
def test_certificate_names_cover_what_rfc_6125_matching_covers_one_name_at_a_time(host):
    """The constant-time set (issue 20) answers as `covers` over every name: equal, or a wildcard for one label."""
    assert covered(CertificateNames(NAMES), host) == any(covers(name, host) for name in NAMES)


def test_a_wildcard_covers_exactly_one_more_label():
    names = CertificateNames(["*.example.com"])
    assert [names.cover(h) for h in ("a.example.com", "example.com", "a.b.example.com", "*.example.com")] == [
        True,
        False,
        False,
        True,
    ]
