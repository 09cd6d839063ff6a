"""What a component will create, known before it registers anything.

Each component's Args can list the Kubernetes objects it will create (and the ones a chart will create on
its behalf) as `ObjectClaim`s. Two claims on one kind/namespace/name are a collision: the second writer
would silently overwrite the first (two Certificates writing one Secret make cert-manager re-issue them
in a loop). A `ClaimLedger` collects claims and names both owners of any collision.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PlanError(ValueError):
    """Objects that collide or settings that cannot work together, found before anything is registered."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ObjectClaim:
    kind: str
    namespace: str | None
    name: str
    owner: str
    note: str = ""  # why two claims on this key cannot both stand, when "written twice" does not say it

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def certificate_claims(namespace: str, name: str, secret_name: str, owner: str) -> list[ObjectClaim]:
    """A Certificate and the Secret cert-manager writes for it."""
    return [
        ObjectClaim("Certificate", namespace, name, owner),
        ObjectClaim("Secret", namespace, secret_name, f"{owner} (written by cert-manager)"),
    ]


@dataclass
class ClaimLedger:
    claims: dict[tuple[str, str | None, str], ObjectClaim] = field(default_factory=dict)

    @staticmethod
    def collisions(claims: list[ObjectClaim], existing: dict | None = None) -> list[str]:
        existing = existing or {}
        seen: dict = {}
        problems = []
        for claim in claims:
            first = seen.get(claim.key) or existing.get(claim.key)
            if first is not None and (claim.note or first.note):
                problems.append(f"{claim.note or first.note} ({first.owner}; {claim.owner})")
            elif first is not None:
                problems.append(f"{claim.describe()} would be written twice: by {first.owner} and by {claim.owner}")
            else:
                seen[claim.key] = claim
        return problems

    def add(self, claims: list[ObjectClaim]) -> None:
        """Record `claims`, or raise PlanError naming both owners of every collision (nothing is recorded)."""
        problems = self.collisions(claims, self.claims)
        if problems:
            raise PlanError(problems)
        self.claims.update((c.key, c) for c in claims)
