"""D. ACME and Let's Encrypt: solvers, servers, self-check resolvers, names Let's Encrypt accepts, rate limits."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from importlib import resources

from publicsuffixlist import PublicSuffixList

from ...components.model import public_suffixes, version_tuple
from ..engine import rule
from ..view import Obj, StackView, all_known, is_known
from ._common import (
    CERT_MANAGER,
    SHIM_ANNOTATIONS,
    Findings,
    _acme,
    _certificates,
    _groups,
    _issuer,
    _written_elsewhere,
)

LE_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"


LE_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


def _solver_matches(solver: dict, name: str) -> bool:
    selector = solver.get("selector") or {}
    if not selector.get("dnsNames") and not selector.get("dnsZones"):
        return True
    if name in (selector.get("dnsNames") or []):
        return True
    base = name[2:] if name.startswith("*.") else name
    return any(base == zone or base.endswith("." + zone) for zone in selector.get("dnsZones") or [])


@rule("D1", "error", "every ACME name has a solver; wildcards a DNS-01 one")
def acme_names_have_solvers(view: StackView) -> Findings:
    for certificate in _certificates(view):
        acme = _acme(_issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace))
        if acme is None or not is_known(acme):
            continue
        solvers = acme.get("solvers", [])
        if not is_known(solvers) or not all_known(solvers):
            continue  # an unknown solver may solve any name
        for name in [n for n in certificate.spec.get("dnsNames") or [] if is_known(n)]:
            matching = [s for s in solvers if _solver_matches(s, name)]
            if not matching:
                yield certificate, f"no solver of its ACME issuer matches {name!r}: add one"
            elif name.startswith("*.") and not any("dns01" in s for s in matching):
                yield certificate, f"{name!r} is a wildcard and only HTTP-01 solvers match it: add a DNS-01 solver"


def _issued_from(view: StackView) -> Iterator[tuple[Obj, Obj]]:
    """(what asks for a certificate, the issuer it asks): Certificates, and Ingresses and Gateways that ask
    cert-manager's ingress-shim and gateway-shim through an issuer annotation (cert-manager.io/docs/usage/ingress)."""
    for certificate in _certificates(view):
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if issuer is not None:
            yield certificate, issuer
    for asking in [*view.of("Ingress"), *view.of("Gateway", "gateway.networking.k8s.io")]:
        annotations = asking.metadata.get("annotations") or {}
        for key, kind in SHIM_ANNOTATIONS.items():
            name = annotations.get(key)
            issuer = view.find(kind, name, asking.namespace if kind == "Issuer" else None) if name else None
            if issuer is not None:
                yield asking, issuer


@rule("D3", "warning", "Let's Encrypt production only in a production stack")
def production_acme_in_production(view: StackView) -> Findings:
    """What uses the production directory counts against its rate limits; an issuer defined and unused does not
    (issue 29: judge what the certificates use, not what exists)."""
    if view.production is not False:
        return
    for asking, issuer in _issued_from(view):
        if (_acme(issuer) or {}).get("server") == LE_PRODUCTION:
            yield (
                asking,
                f"this stack is not production and {issuer.describe()} is Let's Encrypt production: use its "
                "staging directory (rate limits)",
            )


@rule("D3b", "error", "a production stack serves certificates browsers trust")
def no_staging_certificates_in_production(view: StackView) -> Findings:
    """Let's Encrypt's staging CA is trusted by no client: a production stack serving its certificates fails every
    TLS handshake (letsencrypt.org/docs/staging-environment). An issuer that only exists (cert-manager's own
    tutorial defines staging beside production) is not judged: what its certificates use is."""
    if not view.production:
        return
    for asking, issuer in _issued_from(view):
        if (_acme(issuer) or {}).get("server") == LE_STAGING:
            yield (
                asking,
                f"this stack is production and this certificate comes from {issuer.describe()}, Let's Encrypt "
                "staging, which no client trusts",
            )


def _account_key(issuer: Obj, crn: str) -> tuple[str | None, str]:
    secret = ((_acme(issuer) or {}).get("privateKeySecretRef") or {}).get("name") or ""
    return (issuer.namespace if issuer.kind == "Issuer" else crn), secret


@rule("D7", "warning", "each ACME issuer has its own account key Secret")
def acme_account_keys_are_not_shared(view: StackView) -> Findings:
    """Two ACME issuers writing one account-key Secret register, and overwrite, each other's account (a key
    registered at one server, or with one e-mail, is then used for the other)."""
    crn = view.cluster_resource_namespace()
    issuers = [i for i in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)] if _acme(i)]
    for (namespace, secret), sharing in _groups(issuers, lambda issuer: _account_key(issuer, crn)):
        for issuer in sharing[1:] if secret else ():
            yield (
                issuer,
                f"shares its ACME account key Secret {namespace}/{secret} with {sharing[0].describe()}: "
                "give each issuer its own privateKeySecretRef",
            )


@rule("D4", "warning", "DNS-01 self-check asks public resolvers")
def dns01_self_check_resolvers(view: StackView) -> Findings:
    release = view.release("cert-manager")
    values = release.values if release is not None and isinstance(release.values, dict) else None
    if values is not None and values.get("dns01RecursiveNameserversOnly"):
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        # a solver with waitInsteadOfSelfCheck has no self-check to point anywhere (cert-manager v1.21)
        solvers = [s for s in (_acme(issuer) or {}).get("solvers", []) if "waitInsteadOfSelfCheck" not in s]
        if not any("dns01" in s for s in solvers):
            continue
        declared = any(
            isinstance(o, dict) and o.get("dns01_recursive_nameservers_only") is True for o in view.outputs.values()
        )
        if release is None and not declared:  # issue 18: a cert-manager the stack does not install, flags unknown
            yield (
                issuer,
                "cert-manager is not installed by this stack, so its DNS-01 self-check resolvers are unknown here: "
                "make sure it runs with dns01RecursiveNameservers(+Only) set to public resolvers, or challenges "
                "behind cluster-local DNS stay pending",
            )
        elif values is not None:
            yield (
                issuer,
                "set cert-manager's dns01RecursiveNameservers(+Only): behind cluster-local DNS challenges stay pending",
            )


def _private_resolvers(values: dict) -> list[str]:
    """dns01RecursiveNameservers that are not public resolvers: cluster DNS, private or loopback addresses."""
    private = []
    for entry in str(values.get("dns01RecursiveNameservers") or "").split(","):
        host = entry.strip().rsplit(":", 1)[0].strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue  # a https:// DoH resolver or a name: nothing to judge
        if not address.is_global:
            private.append(entry.strip())
    return private


@rule("D10", "error", "waitInsteadOfSelfCheck only on a cert-manager that has it")
def wait_instead_of_self_check_needs_1_21(view: StackView) -> Findings:
    """cert-manager v1.21.0 added ACMEChallengeSolver.waitInsteadOfSelfCheck (pkg/apis/acme/v1/types_issuer.go
    v1.21.1 L181-198); an older CRD prunes the field or strict validation refuses it, and the self-check runs."""
    release = view.release("cert-manager")
    version = release.version if release is not None else None
    if not isinstance(version, str) or not is_known(version):
        return
    try:
        older = version_tuple(version) < (1, 21, 0)
    except ValueError:
        return
    if not older:
        return
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        if any("waitInsteadOfSelfCheck" in s for s in (_acme(issuer) or {}).get("solvers", [])):
            yield (
                issuer,
                f"a solver sets waitInsteadOfSelfCheck, which cert-manager {version} lacks (new in v1.21.0): pin "
                "v1.21 or newer, or use dns01RecursiveNameservers(+Only)",
            )


@rule("D4b", "warning", "DNS-01 self-check resolvers are public ones")
def dns01_resolvers_are_public(view: StackView) -> Findings:
    """A private or cluster resolver (10.96.0.10, 192.168.x, 127.0.0.1) often answers from a split-horizon or
    cached zone: the self-check never sees the TXT record the ACME server sees (seed 002)."""
    release = view.release("cert-manager")
    values = release.values if release is not None and isinstance(release.values, dict) else {}
    for resolver in _private_resolvers(values):
        yield (
            release,  # its stack-file line is certManager's (issue 31: SARIF gave none for certManager.values)
            (f"dns01RecursiveNameservers {resolver!r} is not a public resolver: use public ones (e.g. 1.1.1.1:53)"),
        )


@rule("D5", "error", "a DNS-01 webhook solver names the installed webhook's group")
def webhook_group_names_match(view: StackView) -> Findings:
    release = view.release("cert-manager-webhook-dnspod")
    if release is None:
        return
    group = (release.values if isinstance(release.values, dict) else {}).get("groupName", "acme.dnspod.com")
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        for solver in (_acme(issuer) or {}).get("solvers", []):
            webhook = (solver.get("dns01") or {}).get("webhook") or {}
            if webhook.get("solverName") == "dnspod" and webhook.get("groupName") != group:
                yield (
                    issuer,
                    f"solver groupName {webhook.get('groupName')!r} is not the webhook's {group!r}: make them equal",
                )


@rule("D6", "error", "an Ingress serves TLS for exactly its rule hosts", per_object=True)
def ingress_tls_hosts_match_rules(view: StackView) -> Findings:
    for ingress in view.of("Ingress"):
        rules = ingress.spec.get("rules", [])
        rule_hosts = {r.get("host") for r in rules if r.get("host")}
        tls = ingress.spec.get("tls") or []
        tls_hosts = {h for t in tls for h in t.get("hosts", [])}
        if (
            tls
            and tls_hosts != rule_hosts
            and all_known([rules, *rules, *rule_hosts, tls, *tls, *(t.get("hosts") for t in tls), *tls_hosts])
        ):
            yield (
                ingress,
                f"tls.hosts {sorted(tls_hosts)} differ from the rule hosts {sorted(rule_hosts)}: make them equal",
            )
        if any(not t.get("secretName") and is_known(t) for t in tls):
            yield ingress, "a tls entry without secretName serves the controller's default certificate: name the Secret"


def _tls_secret_refs(view: StackView) -> Iterator[tuple[Obj, str, str]]:
    """(consumer, namespace it reads in, Secret name) of every Ingress TLS entry and same-namespace Gateway API
    certificateRef: both read Secrets of their own namespace only (networking/v1 IngressTLS; Gateway API
    SecretObjectReference without namespace)."""
    for ingress in view.of("Ingress"):
        for entry in ingress.spec.get("tls") or []:
            if entry.get("secretName"):
                yield ingress, ingress.namespace or "default", entry["secretName"]
    for gateway in view.of("Gateway", "gateway.networking.k8s.io"):
        for listener in gateway.spec.get("listeners") or []:
            for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                if ref.get("name") and ref.get("namespace") in (None, gateway.namespace):
                    yield gateway, gateway.namespace or "default", ref["name"]


@rule("D9", "error", "a TLS Secret is read in the namespace where it is written")
def tls_secret_in_the_consumers_namespace(view: StackView) -> Findings:
    for consumer, namespace, secret in _tls_secret_refs(view):
        elsewhere = sorted({c.namespace or "" for c in _written_elsewhere(view, namespace, secret)})
        if elsewhere:
            yield (
                consumer,
                f"Secret {secret!r} is written only in {', '.join(elsewhere)}, and {consumer.kind} reads Secrets of "
                f"{namespace!r}: issue the Certificate in {namespace!r} or replicate the Secret there",
            )


@rule("NGINX", "warning", "ingress-nginx is retired")
def ingress_nginx_is_retired(view: StackView) -> Findings:
    for ingress in view.of("Ingress"):
        if ingress.spec.get("ingressClassName") == "nginx":
            yield (
                ingress,
                (
                    "ingress-nginx was retired (archived March 2026): make sure a controller serves class nginx, or move "
                    "the route to the Gateway API"
                ),
            )


def _registered_domain(name: str) -> str:
    """What Let's Encrypt counts certificates by: the name one label below its public suffix (example.co.uk)."""
    host = name.removeprefix("*.")
    return public_suffixes().privatesuffix(host) or host


def _lets_encrypt_certificates(view: StackView, servers: tuple[str, ...] = (LE_PRODUCTION,)) -> Iterator[Obj]:
    for certificate in _certificates(view):
        issuer = _issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)
        if (_acme(issuer) or {}).get("server") in servers:
            yield certificate


@functools.cache
def _icann() -> PublicSuffixList:
    """The ICANN section of the Public Suffix List, unknown top-level domains not public (Boulder's
    iana.ExtractSuffix)."""
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def _icann_suffix(name: str) -> str | None:
    """Boulder's iana.ExtractSuffix: the ICANN rule publicsuffix-go finds for the name's last labels (it reads them
    from the right and looks at no other, so `x..google` has the suffix `google`), None where no rule matches."""
    trailing = name.rsplit("..", 1)[-1].lstrip(".")
    return _icann().publicsuffix(trailing) if trailing else None


def _refused_by_lets_encrypt(name: str) -> str | None:
    """Why Let's Encrypt's policy authority refuses a DNS identifier, in its words, or None: a port of Boulder's
    policy/pa.go ValidDomain and validNonWildcardDomain after its WFE lower-cases the name (identifier.Normalize),
    judged against Boulder itself in tests/e2e/test_lets_encrypt_policy.py (its blocklists are not public and not
    judged)."""
    name = name.lower()
    if "*" in name:
        if name.count("*") > 1:
            return "Domain name has more than one wildcard"
        if not name.startswith("*."):
            return "Domain name contains an invalid wildcard. A wildcard is only permitted before the first dot in a domain name"
        base = name[2:]
        suffix = _icann_suffix(base)
        if suffix is None:
            return "Domain name does not end with a valid public suffix (TLD)"
        if suffix == base:
            return "Domain name is a wildcard for an ICANN TLD"
        return _refused_domain(base)
    return _refused_domain(name)


def _refused_domain(domain: str) -> str | None:
    if not domain:
        return "Identifier value (name) is empty"
    if domain.startswith("*."):
        return "Wildcard domain names are not supported"
    if any(not (c.isascii() and (c.isalnum() or c in ".-")) for c in domain):
        return "Domain name contains an invalid character"
    if len(domain) > 253:
        return "Domain name is longer than 253 bytes"
    try:
        ipaddress.ip_address(domain)
        return "Identifier type is DNS but value is an IP address"
    except ValueError:
        pass
    if domain.endswith("."):
        return "Domain name ends in a dot"
    labels = domain.split(".")
    if len(labels) > 10:
        return "Domain name has more than 10 labels (parts)"
    if len(labels) < 2:
        return "Domain name needs at least one dot"
    for label in labels:
        if not label:
            return "Domain name can not have two dots in a row"
        if len(label) > 63:
            return "Domain has a label (component between dots) longer than 63 bytes"
        if not re.fullmatch(r"[a-z0-9-]+", label) or label[0] == "-" or label[-1] == "-":
            return "Domain name contains an invalid character"
        if len(label) >= 4 and label[2:4] == "--":
            if label[:2] != "xn":
                return "Domain name contains an invalid label in a reserved format (R-LDH: '??--')"
            try:
                unicode = label.encode().decode("idna")
            except UnicodeError:
                return "Domain name contains malformed punycode"
            if unicodedata.normalize("NFC", unicode) != unicode:
                return "Domain name contains malformed punycode"
    suffix = _icann_suffix(domain)
    if suffix is None:
        return "Domain name does not end with a valid public suffix (TLD)"
    if suffix == domain:
        return "Domain name is an ICANN TLD"
    return None


@functools.cache
def _iana_reserved() -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, str]]:
    text = resources.files("cluster_tls.preflight").joinpath("iana_reserved.json").read_text()
    return [(ipaddress.ip_network(prefix), rfc, name) for prefix, rfc, name in json.loads(text)["blocks"]]


def _sent_by_cert_manager(text: str) -> str | None:
    """The text cert-manager puts in the ACME order for a spec.ipAddresses entry: net.ParseIP, crypto/x509's 4-byte
    IPv4 in the CSR, net.IP.String() (pkg/controller/certificaterequests/acme/acme.go buildOrder); None where
    net.ParseIP refuses it (a zone, a prefix, ...), which cert-manager's webhook refuses first (CM1)."""
    if "%" in text or "/" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _refused_ip(sent: str) -> str | None:
    """Boulder's policy/pa.go ValidIP on what cert-manager sends: in no IANA special-purpose address block
    (tools/iana_reserved.py, from Boulder's own registry data; the most specific block named)."""
    address = ipaddress.ip_address(sent)
    for network, rfc, name in _iana_reserved():
        if address.version == network.version and address in network:
            return f"IP address is in a reserved address block: {rfc}: {name}"
    return None


@rule("D8", "error", "Let's Encrypt accepts every name")
def names_lets_encrypt_accepts(view: StackView) -> Findings:
    for certificate in _lets_encrypt_certificates(view, (LE_PRODUCTION, LE_STAGING)):
        for name in [n for n in certificate.spec.get("dnsNames") or [] if is_known(n)]:
            reason = _refused_by_lets_encrypt(str(name))
            if reason:
                yield certificate, f"Let's Encrypt refuses {name!r}: {reason}"
        for address in [a for a in certificate.spec.get("ipAddresses") or [] if is_known(a)]:
            sent = _sent_by_cert_manager(str(address))
            reason = _refused_ip(sent) if sent is not None else None
            if reason:
                yield certificate, f"Let's Encrypt refuses {address!r}: {reason}"
        if certificate.spec.get("ipAddresses") and all_known(certificate.spec["ipAddresses"]):
            profile = (_acme(_issuer(view, certificate.spec.get("issuerRef") or {}, certificate.namespace)) or {}).get(
                "profile"
            )
            if is_known(profile) and profile != "shortlived":
                yield (
                    certificate,
                    "Let's Encrypt issues for IP addresses only in its 'shortlived' profile (acme.profile: shortlived, "
                    "cert-manager v1.18+; 160-hour certificates): set it on the issuer, or issue from a private CA",
                )


# RFC 5322 specials other than "@" and ".": an address using them (a display name, a quoted local part, a domain
# literal) is parsed by Go's net/mail in ways not ported here.
_NOT_ATEXT = frozenset('()<>[]:;\\,"')


def _dot_atom(text: str) -> bool:
    """RFC 5322 dot-atom, as Go's net/mail (ParseAddress) reads an address's local part and domain: atoms of atext
    (any non-ASCII character too, RFC 6532) joined by single dots, no space."""
    return all(
        atom and all(c.isalnum() or c in "!#$%&'*+-/=?^_`{|}~" or not c.isascii() for c in atom)
        for atom in text.split(".")
    )


# Boulder policy/pa.go forbiddenMailDomains ("frequently used when copy-pasting example configurations").
_FORBIDDEN_MAIL_DOMAINS = ("example.com", "example.net", "example.org")


@rule("LE3", "error", "the ACME account's e-mail is one Let's Encrypt accepts")
def lets_encrypt_contact(view: StackView) -> Findings:
    """Boulder refuses the account (ValidEmail: an e-mail at example.com/.net/.org, or at a domain its policy does not
    accept), so the issuer never becomes Ready (ErrRegisterACMEAccount)."""
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        acme = _acme(issuer) or {}
        email = acme.get("email")
        if acme.get("server") not in (LE_PRODUCTION, LE_STAGING) or not isinstance(email, str) or not is_known(email):
            continue
        local, at, domain = email.rpartition("@")
        if any(c in email for c in _NOT_ATEXT) and email.strip() == email:
            continue  # a display name, quotes or a domain literal: not judged here
        domain = domain.lower()
        if not (at and _dot_atom(local) and _dot_atom(domain)):
            yield issuer, "Let's Encrypt refuses the account's e-mail: unable to parse email address"
        elif domain in _FORBIDDEN_MAIL_DOMAINS:
            yield (
                issuer,
                f"Let's Encrypt refuses the account's e-mail: contact email has forbidden domain \"{domain}\": give a mailbox that receives expiry notices",
            )
        elif (reason := _refused_domain(domain)) is not None:
            yield issuer, f"Let's Encrypt refuses the account's e-mail: contact email has invalid domain: {reason}"


# ACMEv1 was retired: new accounts June 2021 (letsencrypt.org/docs/acme-protocol-updates).
LE_V1 = ("https://acme-v01.api.letsencrypt.org/directory", "https://acme-staging.api.letsencrypt.org/directory")


@rule("LE4", "error", "no retired ACMEv1 endpoint")
def acme_v1(view: StackView) -> Findings:
    for issuer in [*view.of("ClusterIssuer", CERT_MANAGER), *view.of("Issuer", CERT_MANAGER)]:
        if (_acme(issuer) or {}).get("server") in LE_V1:
            yield (
                issuer,
                "Let's Encrypt's ACMEv1 endpoint is retired: use https://acme-v02.api.letsencrypt.org/directory (or its staging)",
            )


@rule("LE5", "error", "no client authentication from Let's Encrypt")
def lets_encrypt_client_auth(view: StackView) -> Findings:
    """Let's Encrypt stopped including the TLS Client Authentication EKU on 2026-02-11 (classic profile) and issues
    none since 2026-05-13 (letsencrypt.org/2025/05/14/ending-tls-client-authentication): a certificate asked for as
    a client certificate comes without it, and the server it is presented to refuses it."""
    for certificate in _lets_encrypt_certificates(view, (LE_PRODUCTION, LE_STAGING)):
        usages = certificate.spec.get("usages") or []
        if all_known([usages, *usages]) and "client auth" in usages:
            yield (
                certificate,
                "Let's Encrypt no longer issues client authentication: issue client certificates from a private CA",
            )


@rule("LE6", "warning", "Let's Encrypt decides a certificate's lifetime")
def lets_encrypt_duration(view: StackView) -> Findings:
    """Let's Encrypt ignores a requested lifetime (cert-manager sends none for ACME): its certificates last 90 days,
    shorter from 2027 (letsencrypt.org/2025/12/02/from-90-to-45); a duration here decides nothing, and a renewBefore
    near 90 days renews constantly."""
    for certificate in _lets_encrypt_certificates(view, (LE_PRODUCTION, LE_STAGING)):
        if certificate.spec.get("duration") is not None:
            yield (
                certificate,
                (
                    "Let's Encrypt ignores spec.duration (the lifetime is its profile's: 90 days for classic, falling to "
                    "45 by 2028; 160 hours for shortlived): leave it out and set renewBeforePercentage"
                ),
            )


@rule("LE2", "error", "at most 5 certificates for one set of names a week")
def duplicate_certificates(view: StackView) -> Findings:
    """Let's Encrypt issues at most 5 certificates for the same exact set of names per 7 days
    (letsencrypt.org/docs/rate-limits, "New Certificates per Exact Set of Hostnames"): a Certificate per namespace
    for one wildcard (instead of one copied by a replicator) fails at the sixth at the first `pulumi up`."""

    def names(certificate: Obj) -> tuple[str, ...]:
        return tuple(sorted({str(n).lower() for n in certificate.spec.get("dnsNames") or []}))

    for same, certificates in _groups(_lets_encrypt_certificates(view), names):
        for certificate in certificates[5:]:
            yield (
                certificate,
                f"the {len(certificates)} Certificates for {', '.join(same)} exceed Let's Encrypt's 5 a week for one set "
                "of names: issue one and replicate its Secret",
            )


@rule("LE1", "warning", "Let's Encrypt certificates per registered domain per week")
def lets_encrypt_budget(view: StackView) -> Findings:
    """LE allows 50 new certificates per registered domain per week; a 90-day certificate renews at 2/3 (60 days)."""
    per_domain: dict[str, int] = defaultdict(int)
    for certificate in _lets_encrypt_certificates(view):
        for domain in {_registered_domain(n) for n in certificate.spec.get("dnsNames") or []}:
            per_domain[domain] += 1
    for domain, count in sorted(per_domain.items()):
        renewals = count * 7 / 60
        if count >= 40:
            yield (
                f"domain {domain}",
                (
                    f"{count} production certificates at the first `pulumi up` (then ~{renewals:.1f} renewal orders a week), "
                    "near Let's Encrypt's 50 per registered domain per week: share a wildcard or stagger them"
                ),
            )
