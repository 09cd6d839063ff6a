"""cluster-tls preflight rules as a Pulumi policy pack: `pulumi preview --policy-pack policy/`.

Rules that decide from one object are resource policies, the others one stack policy each; errors are
mandatory, warnings advisory. Waive a rule per stack with policy-pack config (`enforcementLevel: disabled`), the
way CrossGuard does it. D3 (Let's Encrypt production outside production) reads the stack tag `production`.
"""

from pulumi_policy import PolicyPack

from cluster_tls.preflight.policy import pulumi_policies

PolicyPack(name="cluster-tls", policies=pulumi_policies())
