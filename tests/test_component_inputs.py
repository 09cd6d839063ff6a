"""Outputs as args (issue 20): one component's outputs accepted by the next, checked at once and ordered after it;
an Output nobody can know yet refused in one line saying what to pass; secrets given as Outputs kept secret."""

from __future__ import annotations

import pulumi
import pytest

from cluster_tls.components import (
    ArgsError,
    DnspodWildcard,
    ExistingSecret,
    IstioHTTPSGateway,
    IstioHTTPSGatewayArgs,
    SelfSignedCAChain,
    SelfSignedCAChainArgs,
)
from cluster_tls.components.context import CertManagerRef, ClusterContext
from cluster_tls.components.dnspod import DnspodCredentials
from cluster_tls.mockrun import Evaluation, run_program

BACKEND = {"service": "shop", "port": 8080}
PROTECTED = ClusterContext(cert_manager=CertManagerRef(dns01_recursive_nameservers_only=True))


def _gateway(ca: SelfSignedCAChain, **given) -> IstioHTTPSGateway:
    args = IstioHTTPSGatewayArgs(name="shop", hosts=["shop.example.com"], backend=BACKEND, **given)
    return IstioHTTPSGateway("shop", args, context=ca.context)


def test_the_ca_issuer_output_is_taken_as_the_issuer_and_the_gateway_comes_after_the_ca():
    def program():
        ca = SelfSignedCAChain("platform-ca", SelfSignedCAChainArgs(scope="cluster"), context=ClusterContext())
        _gateway(ca, issuer=ca.issuer)

    evaluation = run_program(program)
    certificate = evaluation.named("shop-certificate")
    assert certificate.inputs["spec"]["issuerRef"] == {
        "name": "platform-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    ca_issuer = evaluation.named("platform-ca-ca-issuer").urn  # a component dependency waits for its children
    for child in ("shop-certificate", "shop-gateway"):
        assert ca_issuer in evaluation.named(child).dependencies, child


def test_an_output_is_checked_as_its_value_would_be_before_anything_is_registered():
    """A namespaced CA in `pki` cannot sign for a gateway in istio-system: the same refusal as for the plain ref."""
    evaluation = Evaluation()

    def program():
        ca = SelfSignedCAChain(
            "team-ca", SelfSignedCAChainArgs(scope="namespaced", namespace="pki"), context=ClusterContext()
        )
        _gateway(ca, issuer=ca.issuer)

    with pytest.raises(ArgsError, match="issuer 'team-ca' is an Issuer outside 'istio-system'"):
        run_program(program, evaluation=evaluation)
    assert not [r for r in evaluation.registrations if r.name.startswith("shop")]


def _wildcard_serving(hosts: list[str], typed: bool = False) -> Evaluation:
    """A gateway for `hosts` served by the DnspodWildcard's certificate Secret, given as the wildcard's outputs
    (in a dict, or in the typed model built on its own)."""

    def program():
        wildcard = DnspodWildcard(
            "dnspod",
            {
                "domain": "example.com",
                "email": "ops@example.com",
                "credentials": {"secretId": "AKID-canary", "secretKey": "canary-key"},
                "replication": {"mechanism": "perNamespace", "namespaces": ["istio-system"]},
            },
            context=PROTECTED,
        )
        IstioHTTPSGateway(
            "shop",
            IstioHTTPSGatewayArgs(
                name="shop",
                hosts=hosts,
                backend=BACKEND,
                existing_secret=(
                    ExistingSecret(name=wildcard.secret_name, dns_names=wildcard.dns_names)
                    if typed
                    else {"name": wildcard.secret_name, "dns_names": wildcard.dns_names}
                ),
            ),
            context=PROTECTED,
        )

    return run_program(program)


@pytest.mark.parametrize("typed", [False, True], ids=["dict", "typed ExistingSecret"])
def test_the_wildcard_secret_and_names_from_a_dnspod_component_serve_a_gateway(typed):
    # issue 31: the typed nested model lost the ordering the dict form keeps (preflight then warned A5)
    evaluation = _wildcard_serving(["shop.example.com"], typed)
    gateway = evaluation.named("shop-gateway")
    certificate = evaluation.named("dnspod-certificate-istio-system")
    assert gateway.inputs["spec"]["servers"][0]["tls"]["credentialName"] == certificate.inputs["spec"]["secretName"]
    assert certificate.urn in gateway.dependencies


def test_a_host_the_wildcard_does_not_cover_is_refused_at_once():
    with pytest.raises(ArgsError, match="shop.other.org"):
        _wildcard_serving(["shop.other.org"])


@pytest.mark.parametrize(
    "given, path",
    [
        (
            lambda ca: {"issuer": pulumi.Output.from_input({"name": "x", "kind": "ClusterIssuer", "type": "ca"})},
            "issuer",
        ),
        (lambda ca: {"issuer": ca.issuer["name"]}, "issuer"),  # derived from a known output: a new, unknown Output
        (lambda ca: {"hosts": [pulumi.Output.from_input("shop.example.com")]}, "hosts[0]"),
        (lambda ca: {"name": pulumi.Output.concat("sh", "op")}, "name"),
    ],
    ids=["foreign issuer", "derived output", "host", "name"],
)
def test_an_output_whose_value_is_unknown_is_refused_in_one_line_naming_the_field(given, path):
    evaluation = Evaluation()

    def program():
        ca = SelfSignedCAChain("platform-ca", {"scope": "cluster"}, context=ClusterContext())
        args = {"name": "shop", "hosts": ["shop.example.com"], "backend": BACKEND, **given(ca)}
        IstioHTTPSGateway("shop", args, context=ca.context)

    with pytest.raises(ArgsError) as raised:
        run_program(program, evaluation=evaluation)
    message = str(raised.value)
    assert message.startswith(f"IstioHTTPSGatewayArgs.{path}: is a pulumi.Output that no cluster-tls component made")
    assert "pass the value itself" in message and "\n" not in message
    assert not [r for r in evaluation.registrations if r.name.startswith("shop")]


def _wildcard(credentials) -> Evaluation:
    """`credentials()` is called inside the program: Outputs belong to the run that makes them."""

    def program():
        DnspodWildcard(
            "dnspod",
            {"domain": "example.com", "email": "ops@example.com", "credentials": credentials()},
            context=PROTECTED,
        )

    return run_program(program)


def test_credentials_given_as_secret_outputs_stay_secret_in_the_credentials_secret():
    evaluation = _wildcard(
        lambda: DnspodCredentials(
            secret_id=pulumi.Output.secret("AKID.Dots.Capitals"), secret_key=pulumi.Output.secret("Key With Spaces")
        )
    )
    data = evaluation.named("dnspod-credentials").inputs["stringData"]
    assert repr(data) == "[secret]"
    assert data.reveal() == {"secretId": "AKID.Dots.Capitals", "secretKey": "Key With Spaces"}


def test_a_credential_output_that_resolves_empty_stops_the_run_naming_the_field_not_the_value():
    with pytest.raises(ValueError, match=r"credentials.secret_key: the Output given resolved to an empty") as raised:
        _wildcard(lambda: {"secretId": pulumi.Output.secret("AKID-canary"), "secretKey": pulumi.Output.secret(" \t")})
    assert "AKID-canary" not in str(raised.value)


def test_a_model_built_by_hand_is_refused_in_one_line_per_problem_without_echoing_secrets():
    with pytest.raises(ArgsError) as raised:
        IstioHTTPSGatewayArgs(name="Shop!", hosts=["shop.example.com", "shop.example.com"], backend=BACKEND)
    lines = str(raised.value).splitlines()
    assert (
        lines[0].startswith("IstioHTTPSGatewayArgs.name: must be a DNS-1123 subdomain") and "(got 'Shop!')" in lines[0]
    )
    assert all(line.startswith("IstioHTTPSGatewayArgs.") for line in lines)
    with pytest.raises(ArgsError) as raised:
        DnspodCredentials.model_validate({"secretId": "AKID-canary-secret", "secretKey": 12345})
    assert str(raised.value).startswith("DnspodCredentials.secretKey: ") and "12345" not in str(raised.value)


@pytest.mark.parametrize(
    "given, says",
    [
        (
            lambda ca: {"issuer": ca.ca_secret_name},
            "issuer: Input should be a valid dictionary or instance of IssuerRef (got 'platform-ca-ca'; the output "
            "`ca_secret_name` of SelfSignedCAChain 'platform-ca': did you mean its `issuer`?)",
        ),
        (lambda ca: {"issuer": ca.context}, "(got ClusterContext)"),
        (
            lambda ca: {"existing_secret": ca.issuer},
            "existing_secret: Input should be a valid dictionary or instance of ExistingSecret (got IssuerRef; the "
            "output `issuer` of SelfSignedCAChain 'platform-ca', which is not what this field takes)",
        ),
    ],
    ids=["a name for an issuer", "a context", "an issuer for a secret"],
)
def test_an_output_of_the_wrong_kind_is_named_with_a_hint(given, says):
    """issue 31: outputs of the wrong kind gave messages with no value and no hint."""

    def program():
        ca = SelfSignedCAChain("platform-ca", SelfSignedCAChainArgs(scope="cluster"), context=ClusterContext())
        _gateway(ca, **given(ca))

    with pytest.raises(ArgsError) as raised:
        run_program(program)
    assert says in str(raised.value) and "\n" not in str(raised.value)
