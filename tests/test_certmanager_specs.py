"""cert-manager's own rules, enforced before anything is registered."""

import re

import pytest

from cluster_tls.components.certmanager.checks import acme_solver_problems
from cluster_tls.components.certmanager.specs import (
    AcmeIssuerSpec,
    CertificateSpec,
    IssuerRef,
    PrivateKeySpec,
)
from cluster_tls.components.model import ArgsError

CA = IssuerRef(name="my-ca-issuer", kind="ClusterIssuer", type="ca")


def cert(**overrides):
    fields = {"secretName": "web-tls", "issuerRef": CA, "dnsNames": ["web.example.com"], **overrides}
    return CertificateSpec.model_validate(fields)


def test_certificate_manifest_is_exact_camel_case():
    spec = cert(
        commonName="web.example.com",
        ipAddresses=["127.0.0.1"],
        duration="2160h",
        renewBefore="720h",
        privateKey={"algorithm": "ECDSA", "size": 256},
        usages=["server auth", "digital signature"],
        subject={"organizations": ["example"]},
        secretTemplate={"annotations": {"reflector.v1.k8s.emberstack.com/reflection-allowed": "true"}},
    )
    assert spec.manifest() == {
        "secretName": "web-tls",
        "issuerRef": {"name": "my-ca-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "commonName": "web.example.com",
        "dnsNames": ["web.example.com"],
        "ipAddresses": ["127.0.0.1"],
        "duration": "2160h",
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256},
        "usages": ["server auth", "digital signature"],
        "subject": {"organizations": ["example"]},
        "secretTemplate": {"annotations": {"reflector.v1.k8s.emberstack.com/reflection-allowed": "true"}},
    }


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"renewBefore": "2160h", "duration": "2160h"}, "renewBefore (2160h) must be shorter than duration"),
        ({"renewBefore": "2200h"}, "must be shorter than duration (2160h default)"),
        ({"duration": "30m"}, "duration must be at least 1h"),
        ({"renewBefore": "1m"}, "renewBefore must be at least 5m"),
        ({"duration": "90d"}, "Go duration"),
        ({"privateKey": {"algorithm": "RSA", "size": 1024}}, "between 2048 and 8192"),
        ({"privateKey": {"algorithm": "ECDSA", "size": 512}}, "256, 384 or 521"),
        ({"privateKey": {"algorithm": "Ed25519", "size": 256}}, "has no effect for Ed25519 (cert-manager ignores it"),
        ({"privateKey": {"algorithm": "DSA"}}, "Input should be 'RSA', 'ECDSA' or 'Ed25519'"),
        ({"privateKey": {"rotationPolicy": "Alway"}}, "Input should be 'Always' or 'Never'"),
        ({"dnsNames": [], "commonName": None}, "at least one of commonName, dnsNames or ipAddresses"),
        ({"dnsNames": ["a.example.com", "a.example.com"]}, "more than once"),
        ({"dnsNames": ["Web.Example.com"]}, "lowercase DNS name"),
        ({"dnsNames": ["a.*.example.com"]}, "'*' only as the whole leftmost label"),
        ({"ipAddresses": ["300.1.1.1"]}, "IPv4 or IPv6"),
        ({"isCA": True, "usages": ["server auth"]}, "must not carry 'server auth'"),
        ({"usages": ["server-auth"]}, "Input should be"),
        ({"dnsName": ["x.example.com"]}, "dnsName: unknown key"),
    ],
)
def test_certificate_spec_refuses_what_cert_manager_would(overrides, message):
    with pytest.raises(ArgsError, match=re.escape(message)):
        cert(**overrides)


def test_issuer_ref_refuses_namespace_on_a_cluster_issuer_and_unknown_kinds():
    with pytest.raises(ArgsError, match="a ClusterIssuer has no namespace"):
        IssuerRef(name="x", kind="ClusterIssuer", type="ca", namespace="default")
    with pytest.raises(ArgsError, match="kind must be 'Issuer' or 'ClusterIssuer'"):
        IssuerRef(name="x", kind="Isuer", type="ca")
    assert IssuerRef(name="x", kind="AWSPCAIssuer", group="awspca.cert-manager.io", type="external")


def test_private_key_defaults_follow_cert_manager():
    assert PrivateKeySpec().manifest() == {"algorithm": "RSA"}


def _acme(solvers):
    return AcmeIssuerSpec(email="ops@example.com", private_key_secret_name="le-account", solvers=solvers)


def test_wildcard_certificate_refuses_http01_solver():
    issuer = _acme([{"http01": {"ingressClassName": "nginx"}}])
    problems = acme_solver_problems(cert(dnsNames=["*.example.com", "example.com"]), issuer)
    assert problems == [
        "wildcard dnsName '*.example.com' is matched only by http01 solvers; ACME issues wildcards through dns01 only"
    ]


def test_wildcard_certificate_is_covered_by_a_dns01_zone_selector():
    issuer = _acme(
        [
            {"http01": {}},
            {
                "selector": {"dnsZones": ["example.com"]},
                "dns01": {"groupName": "acme.dnspod.com", "solverName": "dnspod"},
            },
        ]
    )
    assert acme_solver_problems(cert(dnsNames=["*.example.com", "example.com"]), issuer) == []


def test_names_outside_every_selector_are_reported():
    issuer = _acme([{"selector": {"dnsNames": ["a.example.com"]}, "http01": {}}])
    assert acme_solver_problems(cert(dnsNames=["b.example.com"]), issuer) == [
        "dnsName 'b.example.com' is matched by no ACME solver of the issuer"
    ]


def test_acme_issuer_manifest_expands_lets_encrypt_aliases():
    issuer = _acme([{"dns01": {"groupName": "acme.dnspod.com", "solverName": "dnspod", "config": {"ttl": 600}}}])
    assert issuer.is_staging
    assert issuer.manifest() == {
        "acme": {
            "server": "https://acme-staging-v02.api.letsencrypt.org/directory",
            "email": "ops@example.com",
            "privateKeySecretRef": {"name": "le-account"},
            "solvers": [
                {"dns01": {"webhook": {"groupName": "acme.dnspod.com", "solverName": "dnspod", "config": {"ttl": 600}}}}
            ],
        }
    }


def test_acme_solver_needs_exactly_one_challenge_type():
    with pytest.raises(ArgsError, match="exactly one of http01 or dns01"):
        _acme([{"selector": {"dnsZones": ["example.com"]}}])
    with pytest.raises(ArgsError, match="https:// URL"):
        AcmeIssuerSpec(
            server="http://acme.local", email="a@b.co", private_key_secret_name="k", solvers=[{"http01": {}}]
        )


# Solver selection as cert-manager does it (pkg/controller/acmeorders/selectors, v1.21.1): every matchLabels entry
# must be on the Certificate (labels.go L36-52); then the name is in dnsNames, or under one of dnsZones on a label
# boundary (dns_zones.go L36-54); a selector with neither matches every name.
SOLVER = {"dns01": {"groupName": "acme.dnspod.com", "solverName": "dnspod"}}


@pytest.mark.parametrize(
    "selector, labels, name, matched",
    [
        ({"matchLabels": {"team": "shop"}}, {"team": "shop"}, "a.example.com", True),
        ({"matchLabels": {"team": "shop"}}, {"team": "blog"}, "a.example.com", False),
        ({"matchLabels": {"team": "shop"}}, {}, "a.example.com", False),
        ({"matchLabels": {"team": "shop", "env": "prod"}}, {"team": "shop"}, "a.example.com", False),
        ({"matchLabels": {"team": "shop"}, "dnsNames": ["a.example.com"]}, {"team": "shop"}, "b.example.com", False),
        ({"dnsNames": ["a.example.com"]}, {}, "a.example.com", True),
        ({"dnsNames": ["a.example.com"], "dnsZones": ["other.org"]}, {}, "a.example.com", True),
        ({"dnsZones": ["example.com"]}, {}, "shop.example.com", True),
        ({"dnsZones": ["example.com"]}, {}, "example.com", True),
        ({"dnsZones": ["example.com"]}, {}, "badexample.com", False),
        ({"dnsZones": ["example.com"]}, {}, "*.example.com", True),
    ],
)
def test_a_solver_selector_matches_as_cert_managers_does(selector, labels, name, matched):
    issuer = _acme([{"selector": selector, **SOLVER}])
    problems = acme_solver_problems(cert(dnsNames=[name]), issuer, labels)
    assert problems == ([] if matched else [f"dnsName {name!r} is matched by no ACME solver of the issuer"])
