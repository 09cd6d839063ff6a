"""The benchmark scripts run (on tiny sizes), so that they do not rot. They measure nothing here: speed is
judged by their full runs, whose results are in docs/benchmarks/."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run_quick(script: str, out: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_fleet_benchmark_runs_and_compares(tmp_path):
    out = tmp_path / "fleet.json"
    result = _run_quick("fleet.py", out)
    report = json.loads(out.read_text())
    sizes = [row["objects"] for row in report["rows"]]
    assert len(sizes) == 2 and 0 < sizes[0] < sizes[1]
    assert all(row["package"] > 0 and row["floor"] > 0 and row["raw-pulumi"] > 0 for row in report["rows"])
    assert report["scratch"]["ms_per_new_file"] > 0
    assert "| objects |" in result.stdout


def test_the_tls_cost_benchmark_runs_every_key_type(tmp_path):
    out = tmp_path / "tls.json"
    _run_quick("tls_cost.py", out)
    report = json.loads(out.read_text())
    keys = {row["key"] for row in report["rows"]}
    assert keys == {"RSA 2048", "RSA 4096", "ECDSA P-256", "ECDSA P-384", "Ed25519"}
    assert all(row["resumed_share"] == 1.0 for row in report["rows"] if row["resumed"])
    assert report["bulk_ecdsa_p256_tls13"]["tls"]["mib_per_second"] > 0


def test_the_offline_evaluation_benchmark_runs():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "offline_evaluation.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "prod" in result.stdout


def test_the_preview_process_benchmark_runs_and_attributes_imports(tmp_path):
    out = tmp_path / "preview.json"
    _run_quick("preview_process.py", out)
    report = json.loads(out.read_text())
    seconds = report["seconds"]
    # Single runs on a shared machine: no timing is compared here (one such comparison failed once in CI, issue 20).
    assert all(seconds[key] > 0 for key in ("interpreter", "import cli", "preview", "library imports"))
    assert {"cluster_tls", "pulumi", "pydantic"} <= {module for module, _ms in report["import_self_ms"]}
    # The floor: start-up plus the program's own libraries, which the preview loads as well.
    assert seconds["floor"] == pytest.approx(seconds["interpreter"] + seconds["library imports"], abs=1e-3)
    assert report["library_modules"] > 50


def test_the_fleet_review_benchmark_runs_every_measurement(tmp_path):
    out = tmp_path / "review.json"
    result = _run_quick("fleet_review.py", out)
    report = json.loads(out.read_text())
    (size,) = report["sizes"].values()
    for key in ("review", "review_cold", "alone", "code_review", "render_all", "check_all"):
        assert size[key] > 0 and len(size["samples"][key]) == report["rounds"]
    assert size["review_over_alone"] > 0 and size["review_cold_over_alone"] > 0
    assert size["code_review_s_per_stack_per_side"] > 0
    assert set(report["per_stack"]) == {
        "helm_template_s_per_stack",
        "cdk8s_synth_s_per_stack",
        "pulumi_preview_real_engine_s_per_stack",
    }
    assert "s/stack/side" in result.stdout


def test_the_large_stack_file_benchmark_runs_both_sweeps(tmp_path):
    out = tmp_path / "large.json"
    result = _run_quick("large_stack_file.py", out)
    rows = json.loads(out.read_text())["rows"]
    assert [row["hosts"] for row in rows if row["case"] == "hosts"] == [10, 50]
    assert all(row["seconds"] > 0 and row["peak_rss_mib"] > 0 and row["file_mib"] >= 0 for row in rows)
    assert "| other tool's config |" in result.stdout
