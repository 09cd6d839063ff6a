"""E. Hubble: its certificates come from one CA."""

from __future__ import annotations

from ..engine import rule
from ..view import StackView
from ._common import (
    Findings,
    _certificates,
    _issuer,
    _issuer_type,
)

# The Secrets Hubble's peers mount (Cilium chart templates/hubble/tls-certmanager/*.yaml, read in 1.17.6; the same
# names as HubbleTLS.chart_certificates, checked against the 1.17-1.20 charts): a leaf
# written into one of them is Hubble's, whatever the Certificate is called. A CA certificate is not: a chain's root
# is rightly selfSigned.
HUBBLE_SECRETS = frozenset(
    {
        "hubble-server-certs",
        "hubble-relay-client-certs",
        "hubble-relay-server-certs",
        "hubble-ui-client-certs",
        "hubble-metrics-server-certs",
    }
)


@rule("E1", "error", "Hubble's certificates come from a CA issuer")
def hubble_issuer_is_a_ca(view: StackView) -> Findings:
    hubble = [c for c in _certificates(view) if not c.spec.get("isCA") and c.spec.get("secretName") in HUBBLE_SECRETS]
    for certificate in hubble:
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if _issuer_type(issuer) in ("selfSigned", "acme"):
            yield certificate, f"issuer {issuer.name!r} is {_issuer_type(issuer)}: Hubble's peers need one private CA"
    if hubble:
        return
    # A Cilium release written by hand: the chart makes the certificates from these values
    # (install/kubernetes/cilium/templates/hubble/tls-certmanager/*.yaml), so judge the issuer the values name.
    for release in view.releases:
        values = release.values if isinstance(release.values, dict) else {}
        auto = ((values.get("hubble") or {}).get("tls") or {}).get("auto") or {}
        if release.chart.rsplit("/", 1)[-1] != "cilium" or auto.get("method") != "certmanager":
            continue
        issuer = _issuer(view, auto.get("certManagerIssuerRef") or {}, release.namespace)
        if _issuer_type(issuer) in ("selfSigned", "acme"):
            yield (
                f"release {release.namespace}/{release.name}",
                f"hubble.tls.auto.certManagerIssuerRef {issuer.name!r} is {_issuer_type(issuer)}: every Hubble "
                "certificate would get its own root (relay: 'x509: certificate signed by unknown authority'); "
                "name a CA issuer",
            )
