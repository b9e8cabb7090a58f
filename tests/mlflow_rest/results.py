"""Reads pytest's JUnit XML for MLflow's REST test files and checks it against the lists here.

    results.py JUNIT_XML --mode smelt|reference [--log-dir DIR] [--update]

- pass-mlflow.txt: the tests that pass against the real `mlflow server` (the reference run).
- gaps.txt: tests that pass on MLflow but not on Smelt, each with its reason after `#`.

A Smelt run fails when a test of pass-mlflow.txt fails and is not in gaps.txt, or when a server
log shows a panic. A reference run fails when its passes differ from pass-mlflow.txt. --update
rewrites pass-mlflow.txt from a reference run. Every run prints its pass/fail counts and writes
the outcome of each test to outcomes.txt next to the XML.
"""

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_id(case: ET.Element) -> str:
    module = case.get("classname", "").rsplit(".", 1)[-1]
    return f"{module}::{case.get('name')}"


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "").splitlines()[0][:200] if node.get("message") else ""
                break
        result[test_id(case)] = (outcome, message)
    return result


def read_list(path: Path) -> dict[str, str]:
    """Test ids of a list file, each with the comment after `#` on its line."""
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        body, _, comment = line.partition("#")
        if body.strip():
            entries[body.strip()] = comment.strip()
    return entries


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("junit", type=Path)
    parser.add_argument("--mode", choices=["smelt", "reference"], required=True)
    parser.add_argument("--log-dir", type=Path)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--partial", action="store_true", help="a -k/selection run: no missing-test check")
    args = parser.parse_args()

    got = outcomes(args.junit)
    lines = [f"{outcome:8} {tid}  {message}".rstrip() for tid, (outcome, message) in sorted(got.items())]
    (args.junit.parent / "outcomes.txt").write_text("\n".join(lines) + "\n")
    passed = {tid for tid, (outcome, _) in got.items() if outcome == "passed"}
    counts = {}
    for outcome, _ in got.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    print("mlflow-rest: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" of {len(got)}")

    reference = read_list(HERE / "pass-mlflow.txt")
    if args.mode == "reference":
        if args.update:
            (HERE / "pass-mlflow.txt").write_text("".join(f"{t}\n" for t in sorted(passed)))
            print(f"mlflow-rest: wrote {len(passed)} tests to pass-mlflow.txt")
            return 0
        lost = [t for t in sorted(set(reference) - passed) if t in got or not args.partial]
        new = sorted(passed - set(reference))
        for tid in lost[:20]:
            print(f"mlflow-rest: listed in pass-mlflow.txt but {got.get(tid, ('not run',))[0]}: {tid}")
        for tid in new[:20]:
            print(f"mlflow-rest: passes on MLflow but not in pass-mlflow.txt: {tid}")
        if len(lost) > 20 or len(new) > 20:
            print(f"mlflow-rest: {len(lost)} listed but not passing, {len(new)} passing but not listed "
                  "(first 20 of each shown; outcomes.txt has all)")
        return 0 if not lost and not new else 1

    ok = True
    gaps = read_list(HERE / "gaps.txt")
    must_pass = set(reference) - set(gaps)
    smelt_pass = len(passed & set(reference))
    print(f"mlflow-rest: {smelt_pass} of the {len(reference)} tests that pass on MLflow pass on Smelt "
          f"({len(set(reference) & set(gaps))} listed in gaps.txt)")
    for tid in sorted(must_pass):
        if tid not in got and args.partial:
            continue
        outcome, message = got.get(tid, ("not run", ""))
        if outcome != "passed":
            print(f"REGRESSION {tid}: {outcome} {message}")
            ok = False
    for tid in sorted(set(gaps) & passed):
        print(f"mlflow-rest: now passes, remove it from gaps.txt: {tid}")
    if args.log_dir and args.log_dir.is_dir():
        for log in sorted(args.log_dir.glob("*.log")):
            text = log.read_text(errors="replace")
            if "panicked" in text:
                print(f"mlflow-rest: a panic in {log.name}")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
