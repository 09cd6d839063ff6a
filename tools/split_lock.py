"""`make lock`: split one frozen environment into what the package needs at run time (requirements.lock, all that
`make setup` installs) and the test tools (requirements-test.lock, added by `make test`).

    python tools/split_lock.py <pip freeze> <pip install --dry-run --report of the package> <runtime> <test>
"""

import json
import re
import sys


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement.split("==")[0]).lower()


frozen, report, runtime_lock, test_lock = sys.argv[1:]
with open(report) as handle:
    needed = {_name(item["metadata"]["name"]) for item in json.load(handle)["install"]} - {"cluster-tls"}
with open(frozen) as handle:
    pins = [line.strip() for line in handle if line.strip()]
with open(runtime_lock, "w") as handle:
    handle.write("".join(f"{pin}\n" for pin in pins if _name(pin) in needed))
with open(test_lock, "w") as handle:
    handle.write("".join(f"{pin}\n" for pin in pins if _name(pin) not in needed))
