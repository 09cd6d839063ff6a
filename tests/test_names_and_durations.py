from datetime import timedelta

import pytest

from cluster_tls.components.durations import parse_go_duration
from cluster_tls.components.hosts import CertificateNames, covered, covers, to_ascii
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


def test_durations_end_where_gos_int64_nanoseconds_end():
    # Go's time.Duration is int64 nanoseconds: 2562047h47m16.854775807s is the longest; ParseDuration refuses more.
    assert parse_go_duration("2562047h") == timedelta(hours=2562047)
    with pytest.raises(ValueError, match="out of range"):
        parse_go_duration("2562048h")


def test_a_duration_of_256_characters_is_read_and_one_more_is_refused():
    assert parse_go_duration("1h" * 128) == timedelta(hours=128)
    with pytest.raises(ValueError, match="257 characters long"):
        parse_go_duration("1h" * 128 + "0")


def test_a_wildcard_over_an_internationalised_domain_keeps_its_star():
    assert to_ascii("*.例子.com") == "*.xn--fsqu00a.com"
    assert to_ascii("例子.com") == "xn--fsqu00a.com"


def test_a_name_of_exactly_63_characters_is_kept_whole():
    assert k8s_name("a" * 63) == "a" * 63
    cut = k8s_name("a" * 64)
    assert len(cut) == 63 and cut != "a" * 63 and cut.startswith("a" * 54 + "-")


def test_a_leading_plus_is_a_sign_as_in_go():
    # Go's time.ParseDuration accepts one leading sign: "+90m" is 90 minutes (time/format.go ParseDuration)
    assert parse_go_duration("+90m") == timedelta(minutes=90)
    assert parse_go_duration("+1h30m") == timedelta(minutes=90)
