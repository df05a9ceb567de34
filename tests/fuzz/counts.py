"""Print how many requests a schemathesis run sent to each operation, from its NDJSON report.

    python -m tests.fuzz.counts REPORT.ndjson OPENAPI.json [PATH_REGEX]

One row per operation of the schema: the requests of each phase (examples, coverage,
fuzzing, stateful), their total and how the answers split by status class. Exits non-zero
when an operation received no request at all. With PATH_REGEX, only the operations whose
path it matches (the run's `--include-path-regex`) are expected.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

PHASES = ("examples", "coverage", "fuzzing", "stateful")


def schema_operations(path: Path, paths: str = "") -> list[str]:
    """`METHOD /path` of every operation in the OpenAPI document whose path `paths` matches."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        f"{method.upper()} {route}"
        for route, item in document["paths"].items()
        if re.search(paths, route)
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    ]


def read_events(path: Path) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """Requests per operation and phase, and their answers per status class."""
    sent: dict[str, Counter[str]] = defaultdict(Counter)
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    with path.open(encoding="utf-8") as events:
        for line in events:
            event: dict[str, Any] = json.loads(line)
            if "ScenarioFinished" in event:
                count_scenario(event["ScenarioFinished"], sent, answers)
    return sent, answers


def count_scenario(
    scenario: dict[str, Any], sent: dict[str, Counter[str]], answers: dict[str, Counter[str]]
) -> None:
    phase = scenario.get("phase") or "?"
    recorder = scenario.get("recorder") or {}
    cases = recorder.get("cases") or {}
    for case_id, interaction in (recorder.get("interactions") or {}).items():
        case = (cases.get(case_id) or {}).get("value") or {}
        request = interaction.get("request") or {}
        label = f"{case.get('method') or request.get('method')} {case.get('path', '?')}"
        sent[label][phase] += 1
        response = interaction.get("response")
        status = response.get("status_code") if response else None
        answers[label][f"{status // 100}xx" if status else "no answer"] += 1


def table(
    operations: list[str], sent: dict[str, Counter[str]], answers: dict[str, Counter[str]]
) -> str:
    """One row per operation; the probes with undocumented methods (`OPTIONS /api/tags`,
    expected to answer 405) are summed up in one row."""
    probes = "undocumented methods"
    rows: dict[str, tuple[Counter[str], Counter[str]]] = {
        label: (Counter(), Counter()) for label in [*operations, probes]
    }
    for label, per_phase in sent.items():
        row = rows[label if label in rows else probes]
        row[0].update(per_phase)
        row[1].update(answers[label])
    width = max(len(label) for label in rows)
    head = f"{'operation':<{width}}  " + "  ".join(f"{p:>8}" for p in PHASES)
    lines = [f"{head}  {'total':>6}  answers", "-" * (len(head) + 40)]
    totals: Counter[str] = Counter()
    for label, (per_phase, split) in rows.items():
        totals.update(per_phase)
        cells = "  ".join(f"{per_phase[p]:>8}" for p in PHASES)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(split.items()))
        lines.append(f"{label:<{width}}  {cells}  {sum(per_phase.values()):>6}  {statuses}")
    cells = "  ".join(f"{totals[p]:>8}" for p in PHASES)
    lines.append(f"{'all':<{width}}  {cells}  {sum(totals.values()):>6}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    sent, answers = read_events(Path(argv[1]))
    operations = schema_operations(Path(argv[2]), argv[3] if len(argv) > 3 else "")
    print(table(operations, sent, answers))
    missed = [label for label in operations if not sent.get(label)]
    if missed:
        print("operations that received no request: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
