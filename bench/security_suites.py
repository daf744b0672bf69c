"""Runs the attack suites (schema fuzzing, faults, the issue-24 security tests) and records what they
found: tests passed per suite, fuzzed operations and requests with their answers by status class, and
the writes acknowledged before a SIGKILL that were all found again. Writes
bench/results/security_suites.json (bench/summarize.py puts it in RESULTS.md)."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from petition_triage.config import REPO_ROOT

SUITES = {"fuzzing": "tests/test_fuzzing.py", "faults": "tests/test_faults.py", "security": "tests/test_security.py"}


def run_suite(path: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", path],
                       cwd=REPO_ROOT, check=False)
        seconds = time.perf_counter() - started
        suite = ET.parse(report).getroot().find("testsuite")
    tests: dict[str, dict] = {}
    for case in suite.iter("testcase"):
        outcome = ("failed" if case.find("failure") is not None or case.find("error") is not None
                   else "skipped" if case.find("skipped") is not None else "passed")
        properties = {p.get("name"): _value(p.get("value")) for p in case.iter("property")}
        tests[case.get("name")] = {"outcome": outcome, **({"properties": properties} if properties else {})}
    outcomes = [t["outcome"] for t in tests.values()]
    return {"passed": outcomes.count("passed"), "failed": outcomes.count("failed"),
            "skipped": outcomes.count("skipped"), "seconds": round(seconds, 1), "tests": tests}


def _value(text: str | None):
    try:
        return ast.literal_eval(text or "")
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "security_suites.json")
    args = parser.parse_args()
    results = {"date": time.strftime("%Y-%m-%d"), "suites": {name: run_suite(path) for name, path in SUITES.items()}}
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, suite in results["suites"].items():
        print(f"{name}: {suite['passed']} passed, {suite['failed']} failed, {suite['skipped']} skipped "
              f"in {suite['seconds']} s")


if __name__ == "__main__":
    main()
