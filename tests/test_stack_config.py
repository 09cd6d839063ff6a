"""Stack config is validated before any resource is registered; each error names stack, key and value."""
from pathlib import Path

import pytest
import yaml

from cluster_tls.mockrun import Evaluation, run_program
from cluster_tls.stackfile import config_from_entries
from stacks.config import StackConfigError
from stacks.program import main

CASES = yaml.safe_load((Path(__file__).parent / "bad_stack_configs.yaml").read_text())


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_config_is_rejected_naming_stack_key_and_value(case):
    config, secret_keys = config_from_entries(case["config"], "cluster-tls")
    evaluation = Evaluation()
    with pytest.raises(StackConfigError) as raised:
        run_program(main, stack="staging", config=config, secret_keys=secret_keys, evaluation=evaluation)
    message = str(raised.value)
    assert message.startswith("stack 'staging' has invalid configuration:")
    for expected in case["expect"]:
        assert expected in message
    assert evaluation.registrations == []


def test_secret_config_values_never_appear_in_errors():
    config, secret_keys = config_from_entries(
        {"cluster-tls:privateCa": {"scope": {"secure": "v1:abc"}}}, "cluster-tls"
    )
    with pytest.raises(StackConfigError) as raised:
        run_program(main, config=config, secret_keys=secret_keys)
    assert "(got [secret])" in str(raised.value)
    assert "offline-placeholder" not in str(raised.value)


def test_config_from_other_namespaces_is_ignored():
    config, _ = config_from_entries({"kubernetes:context": "prod", "pulumi:tags": {"team": "x"}}, "cluster-tls")
    assert run_program(main, config=config).registrations  # cert-manager is installed by default
