"""Why a Certificate is or is not Ready, followed down the chain cert-manager walks: Issuer, CertificateRequest,
Order, Challenge, the CA issuer's Secret. Reasons and messages are cert-manager v1.21.1's own, read from the
objects; where they show is listed in shared/notes/real-engine-2.md section 1.2 (file:line in cert-manager)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .live import Live

CM = "cert-manager.io"
ACME = "acme.cert-manager.io"
REVISION = "cert-manager.io/certificate-revision"
CHURN = timedelta(minutes=10)  # a certificate renewed sooner after it is issued is re-issued continuously


@dataclass(frozen=True)
class Verdict:
    working: bool
    text: str  # one line: what is so
    fix: str = ""  # one line: what to change ("" when working)
    waiting: bool = False  # not failed: cert-manager is still working on it


def conditions(obj: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    span = abs(seconds)
    unit = f"{span // 86400} d" if span >= 86400 else f"{span // 3600} h" if span >= 3600 else f"{span} s"
    return f"in {unit}" if seconds >= 0 else f"{unit} ago"


def _owned_by(items: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    return [i for i in items if any(o.get("uid") == uid for o in i["metadata"].get("ownerReferences") or [])]


def _newest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(items, key=lambda i: i["metadata"].get("creationTimestamp", ""), default=None)


def issuer_of(live: Live, certificate: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """(kind, name, the live issuer or None) a Certificate's issuerRef names."""
    ref = certificate["spec"].get("issuerRef") or {}
    kind, name = ref.get("kind") or "Issuer", ref.get("name", "")
    namespace = certificate["metadata"].get("namespace") if kind == "Issuer" else None
    if (ref.get("group") or CM) != CM:
        return kind, name, {"external": True}  # an external issuer: its readiness is its controller's
    return kind, name, live.find(CM, kind, name, namespace)


def issuer_verdict(live: Live, issuer: dict[str, Any], cluster_resource_namespace: str) -> Verdict:
    kind, name = issuer["kind"], issuer["metadata"]["name"]
    ready = conditions(issuer).get("Ready") or {}
    if ready.get("status") == "True":
        secret = (issuer.get("spec", {}).get("ca") or {}).get("secretName")
        if secret:
            namespace = issuer["metadata"].get("namespace") or cluster_resource_namespace
            if live.find("", "Secret", secret, namespace) is None and not live.could_not_read("", "Secret", namespace):
                return Verdict(
                    False,
                    f"{kind} {name}: Ready, but its CA Secret {namespace}/{secret} is gone",
                    "cert-manager re-reads it at the next issuance: re-create it (the CA Certificate that writes it "
                    "re-issues when its Secret is deleted, with a new key: renew the leaves after it)",
                )
        return Verdict(True, f"{kind} {name}: Ready")
    reason, message = ready.get("reason", "no Ready condition yet"), ready.get("message", "")
    fix = "see the issuer's message"
    if reason == "ErrGetKeyPair" or "secret" in message.lower() and "not found" in message.lower():
        secret = (issuer.get("spec", {}).get("ca") or {}).get("secretName", "")
        where = issuer["metadata"].get("namespace") or cluster_resource_namespace
        fix = (
            f"the CA Secret must exist in {where} (a ClusterIssuer reads only the cluster resource namespace, "
            f"{cluster_resource_namespace}): re-create {secret!r} there or point spec.ca.secretName at the CA's Secret"
        )
    elif reason in ("ErrRegisterACMEAccount", "ErrVerifyACMEAccount"):
        fix = "check spec.acme.server, its CA bundle (caBundle) and the account e-mail"
    return Verdict(False, f"{kind} {name}: not Ready ({reason}: {message})".rstrip(), fix)


def _challenge_line(challenge: dict[str, Any]) -> Verdict:
    spec, status = challenge.get("spec", {}), challenge.get("status", {})
    name = f"{spec.get('type', 'challenge')} challenge for {spec.get('dnsName', '?')}"
    state, reason = status.get("state") or "pending", status.get("reason") or ""
    if state == "valid":
        return Verdict(True, f"{name}: valid")
    if "propagation" in reason or "self check" in reason:
        fix = (
            "cert-manager's self-check does not see the record: set certManager.dns01RecursiveNameservers to "
            "resolvers that see the zone (with dns01RecursiveNameserversOnly), or dnspod.waitInsteadOfSelfCheck "
            "on cert-manager >= 1.21"
            if spec.get("type") == "DNS-01"
            else "the self-check cannot fetch the token: check DNS for the name, the ingress class and redirects"
        )
        return Verdict(False, f"{name}: self-check failing ({reason})", fix, waiting=True)
    if not status.get("presented") and reason:
        fix = (
            "the DNS-01 webhook does not answer: check its APIService is Available and the issuer's "
            "webhook.groupName and solverName match the webhook's"
            if "unable to handle the request" in reason or "the server could not find" in reason
            else "see the solver's error: the DNS provider refused the record (credentials, zone)"
        )
        return Verdict(False, f"{name}: not presented ({reason})", fix)
    if state in ("invalid", "errored", "expired"):
        return Verdict(
            False, f"{name}: {state} ({reason})", "the CA refused the validation: see its reason (record, CAA, name)"
        )
    return Verdict(False, f"{name}: {state}" + (f" ({reason})" if reason else ""), "", waiting=True)


def _request_verdict(live: Live, request: dict[str, Any], events: dict[str, str]) -> Verdict:
    name = f"CertificateRequest {request['metadata']['name']}"
    found = conditions(request)
    if (found.get("Denied") or {}).get("status") == "True":
        denied = found["Denied"]
        return Verdict(False, f"{name}: denied ({denied.get('message', '')})", "an approver refused it: see its policy")
    if (found.get("InvalidRequest") or {}).get("status") == "True":
        return Verdict(False, f"{name}: invalid ({found['InvalidRequest'].get('message', '')})", "")
    ready = found.get("Ready") or {}
    if ready.get("status") == "True":
        return Verdict(True, f"{name}: issued")
    uid = request["metadata"].get("uid", "")
    orders = _owned_by(live.of(ACME, "Order"), uid)
    order = _newest(orders)
    if order is not None:
        state, reason = order.get("status", {}).get("state") or "pending", order.get("status", {}).get("reason", "")
        order_name = f"Order {order['metadata']['name']}"
        if state in ("invalid", "errored"):
            fix = (
                "the ACME server's rate limit: wait for its window, and stop what re-creates the Certificate"
                if "rateLimited" in reason
                else "the ACME server refused the order: see its reason"
            )
            return Verdict(False, f"{order_name}: {state} ({reason})", fix)
        challenges = _owned_by(live.of(ACME, "Challenge"), order["metadata"].get("uid", ""))
        failing = [v for v in (_challenge_line(c) for c in challenges) if not v.working]
        if failing:
            return failing[0]
        warning = events.get(order["metadata"].get("uid", ""))
        if warning and not challenges:
            return Verdict(False, f"{order_name}: {state} ({warning})", "no solver of the issuer matches the names")
        return Verdict(False, f"{order_name}: {state}", "", waiting=True)
    reason, message = ready.get("reason", "Pending"), ready.get("message", "")
    if "not found" in message:
        return Verdict(False, f"{name}: {reason} ({message})", "create the issuer the Certificate names")
    return Verdict(False, f"{name}: {reason}" + (f" ({message})" if message else ""), "", waiting=reason == "Pending")


def certificate_verdict(
    live: Live, certificate: dict[str, Any], cluster_resource_namespace: str, events: dict[str, str], now: datetime
) -> Verdict:
    """One line for a live Certificate: Ready with its dates, or the first failing step down its chain."""
    status = certificate.get("status") or {}
    found = conditions(certificate)
    ready, issuing = found.get("Ready") or {}, found.get("Issuing") or {}
    not_after, renewal = when(status.get("notAfter")), when(status.get("renewalTime"))
    dates = []
    if not_after:
        dates.append(f"expires {not_after:%Y-%m-%d %H:%M}Z ({_ago(not_after, now)})")
    if renewal:
        dates.append(f"renews {_ago(renewal, now)}")
    if status.get("revision"):
        dates.append(f"revision {status['revision']}")
    described = ", ".join(dates)
    if ready.get("status") == "True" and not_after and not_after > now:
        if renewal and renewal < now - timedelta(minutes=5) and issuing.get("status") != "True":
            return Verdict(
                False,
                f"Ready but the renewal due {_ago(renewal, now)} has not started ({described})",
                "check the cert-manager controller is running",
            )
        not_before = when(status.get("notBefore"))
        if renewal and not_before and renewal - not_before < CHURN:
            life = int((renewal - not_before).total_seconds())
            return Verdict(
                False,
                f"Ready, but re-issued every {life} s: renewBefore leaves {life} s of its duration ({described})",
                "lower renewBefore (cert-manager renews at two thirds of the duration by default): every "
                "re-issuance is a new key, and with ACME an order counted against rate limits",
            )
        if issuing.get("status") == "True":
            described += f"; renewing now ({issuing.get('reason', '')})"
        return Verdict(True, f"Ready, {described}")
    if not_after and not_after <= now:
        headline = f"expired {_ago(not_after, now)}"
    else:
        headline = f"not Ready ({ready.get('reason', 'no Ready condition yet')}: {ready.get('message', '')})"
    kind, name, issuer = issuer_of(live, certificate)
    if issuer is None:
        return Verdict(
            False,
            f"{headline}; its issuerRef names {kind} {name}, which does not exist",
            f"create {kind} {name}" + (" in its namespace" if kind == "Issuer" else "") + " or correct spec.issuerRef",
        )
    if not issuer.get("external"):
        checked = issuer_verdict(live, issuer, cluster_resource_namespace)
        if not checked.working:
            return Verdict(False, f"{headline}; {checked.text}", checked.fix)
    if issuing.get("reason") == "Failed":
        attempts = status.get("failedIssuanceAttempts") or 1
        failed = when(status.get("lastFailureTime"))
        retry = ""
        if failed:
            retry_at = failed + min(timedelta(hours=2 ** (attempts - 1)), timedelta(hours=32))
            retry = f"; cert-manager retries {_ago(retry_at, now)} (attempt {attempts + 1})"
        message = issuing.get("message", "")
        step = _latest_request_verdict(live, certificate, events)
        detail = step.text if step is not None and not step.working else message
        fix = step.fix if step is not None and step.fix else "see the message"
        return Verdict(False, f"{headline}; issuance failed: {detail}{retry}", f"{fix}; `cmctl renew` retries at once")
    step = _latest_request_verdict(live, certificate, events)
    if step is not None and not step.working:
        return Verdict(False, f"{headline}; {step.text}", step.fix, waiting=step.waiting)
    return Verdict(False, headline, "", waiting=True)


def _latest_request_verdict(live: Live, certificate: dict[str, Any], events: dict[str, str]) -> Verdict | None:
    """The CertificateRequest cert-manager is on: the next revision's, else the newest (findMatchingCR)."""
    requests = _owned_by(live.of(CM, "CertificateRequest"), certificate["metadata"].get("uid", ""))
    wanted = str((certificate.get("status") or {}).get("revision", 0) + 1)
    current = [r for r in requests if (r["metadata"].get("annotations") or {}).get(REVISION) == wanted]
    request = _newest(current or requests)
    return _request_verdict(live, request, events) if request is not None else None


def now_utc() -> datetime:
    return datetime.now(UTC)
