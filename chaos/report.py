"""Plain-text reports: one block per fault as it ends, and a summary table at the end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaos.measure import tally
from chaos.run import Outcome

LOG_LINES_SHOWN = 12  # distinct log lines printed per fault


def fault_block(outcome: Outcome, logs: Sequence[Path]) -> str:
    fault = outcome.fault
    writes = outcome.writes
    lines = [
        f"=== {fault.name}: {fault.summary} ===",
        f"  fault       from {outcome.fault_start:.1f} s to {outcome.fault_end:.1f} s of "
        f"{outcome.load_seconds:.1f} s of load",
        f"  requests    {sum(outcome.statuses.values())}: {tally(outcome.statuses)}",
        f"  writes      {writes.sent} sent, {writes.acknowledged} acknowledged, "
        f"{len(writes.lost)} lost, {len(writes.duplicated)} duplicated "
        f"({tally(outcome.write_outcomes)}); the slowest acknowledged after "
        f"{outcome.slowest_write:.1f} s",
        f"  during it   {outcome.during} requests sent, {outcome.bad_during} bad "
        f"(5xx, connection error or timeout)",
        f"  500s        {outcome.http_500}",
        f"  recovery    {_recovery(outcome.recovery)} (requests), "
        f"{outcome.writes_recovered:.1f} s (the longest a write waited after the fault)",
    ]
    for name in sorted(outcome.ready_during):
        lines.append(f"  /ready {name}    during: {tally(outcome.ready_during[name])}")
        lines.append(f"              after:  {tally(outcome.ready_after.get(name, {}))}")
    for title in writes.lost[:5]:
        lines.append(f"  lost        {title}")
    for title in writes.duplicated[:5]:
        lines.append(f"  duplicated  {title}")
    if outcome.log_lines:
        lines.append(f"  logged      ({len(outcome.log_lines)} distinct; count x line)")
        for text, count in outcome.log_lines.most_common(LOG_LINES_SHOWN):
            lines.append(f"    {count:>5} x {text[:220]}")
    lines.append("  logs        " + " ".join(str(p) for p in logs))
    verdict = "FAILED: " + "; ".join(outcome.reasons) if outcome.failed else "passed"
    lines.append(f"  result      {verdict}")
    return "\n".join(lines)


def summary(outcomes: Sequence[Outcome], seconds: float) -> str:
    header = (
        f"{'fault':<16} {'requests':>8} {'bad':>6} {'acked':>6} {'lost':>5} {'dup':>4} "
        f"{'500s':>5} {'recovery':>9}  result"
    )
    rows = [header, "-" * len(header)]
    for o in outcomes:
        bad = sum(n for status, n in o.statuses.items() if _bad(status))
        result = "FAILED: " + "; ".join(o.reasons) if o.failed else "passed"
        rows.append(
            f"{o.fault.name:<16} {sum(o.statuses.values()):>8} {bad:>6} "
            f"{o.writes.acknowledged:>6} {len(o.writes.lost):>5} {len(o.writes.duplicated):>4} "
            f"{o.http_500:>5} {_recovery(o.recovery):>9}  {result}"
        )
    failed = [o for o in outcomes if o.failed]
    verdict = f"chaos: {len(outcomes)} faults, {len(failed)} failed"
    if failed:
        verdict += " (" + ", ".join(o.fault.name for o in failed) + ")"
    rows.append("")
    rows.append(f"{verdict} in {seconds:.0f} s")
    return "\n".join(rows)


def _bad(status: str) -> bool:
    return not status[:1].isdigit() or status.startswith("5")


def _recovery(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"
