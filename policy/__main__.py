"""cluster-tls preflight rules as a Pulumi policy pack: `pulumi preview --policy-pack policy/`.

Rules that decide from one object are resource policies, the others one stack policy each; errors are
mandatory, warnings advisory. Waive a rule per stack with policy-pack config (`enforcementLevel: disabled`), the
way CrossGuard does it. D3 (Let's Encrypt production outside production) reads the stack tag `production`.
"""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

from cluster_tls.preflight.policy import policies

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}

PolicyPack(
    name="cluster-tls",
    policies=[
        (ResourceValidationPolicy if policy["kind"] == "resource" else StackValidationPolicy)(
            name=policy["name"],
            description=policy["description"],
            validate=policy["validate"],
            enforcement_level=LEVELS[policy["enforcement"]],
        )
        for policy in policies()
    ],
)
