"""Checks across cert-manager objects that no single spec can make on its own."""

from __future__ import annotations

from .specs import AcmeIssuerSpec, AcmeSolver, CertificateSpec


def _selector_matches(solver: AcmeSolver, dns_name: str, labels: dict[str, str]) -> bool:
    selector = solver.selector
    if selector is None:
        return True
    if selector.match_labels and any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    if not selector.dns_names and not selector.dns_zones:
        return True
    if dns_name in selector.dns_names:
        return True
    base = dns_name[2:] if dns_name.startswith("*.") else dns_name
    return any(base == zone or base.endswith("." + zone) for zone in selector.dns_zones)


def acme_solver_problems(
    certificate: CertificateSpec, issuer: AcmeIssuerSpec, labels: dict[str, str] | None = None
) -> list[str]:
    """Names of the certificate no solver of the ACME issuer can validate.

    Let's Encrypt offers only DNS-01 for wildcard names, so a wildcard matched only by http01 solvers can
    never be issued (cert-manager says only "no configured challenge solvers can be used", cert-manager#3181).
    """
    problems = []
    for dns_name in certificate.dns_names:
        matching = [s for s in issuer.solvers if _selector_matches(s, dns_name, labels or {})]
        if not matching:
            problems.append(f"dnsName {dns_name!r} is matched by no ACME solver of the issuer")
        elif dns_name.startswith("*.") and not any(s.dns01 for s in matching):
            problems.append(
                f"wildcard dnsName {dns_name!r} is matched only by http01 solvers; "
                "ACME issues wildcards through dns01 only"
            )
    return problems
