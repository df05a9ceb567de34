"""One fault's run: load before, the fault, load until recovered, then the writes checked
against the database."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chaos.faults import Context, Fault
from chaos.load import Load
from chaos.logs import distinct_lines
from chaos.measure import (
    MAX_RECOVERY,
    STEADY_WINDOW,
    Availability,
    WriteCounts,
    by_status,
    count_500,
    count_writes,
    failures,
    parse_counts,
    ready_answers,
    recovery_time,
    write_recovery,
)
from chaos.stack import Stack

BEFORE = 8.0  # seconds of load before the fault
AFTER = 10.0  # seconds of load at least after the fault ends
# After the fault the load goes on until it has recovered, or until a recovery within
# MAX_RECOVERY can no longer be seen.
AFTER_LIMIT = MAX_RECOVERY + STEADY_WINDOW + 1.0


@dataclass
class Outcome:
    fault: Fault
    statuses: Counter[str] = field(default_factory=Counter)
    writes: WriteCounts = field(default_factory=lambda: WriteCounts(0, 0))
    write_outcomes: Counter[str] = field(default_factory=Counter)
    during: int = 0  # requests sent while the fault lasted
    bad_during: int = 0  # of which bad (5xx, connection error, timeout)
    slowest_write: float = 0.0  # seconds, from first attempt to acknowledgement
    http_500: int = 0
    recovery: float | None = None
    writes_recovered: float = 0.0  # seconds from the fault's end to the last acknowledgement
    fault_start: float = 0.0  # seconds after the load started
    fault_end: float = 0.0
    load_seconds: float = 0.0
    ready_during: dict[str, Counter[str]] = field(default_factory=dict)
    ready_after: dict[str, Counter[str]] = field(default_factory=dict)
    log_lines: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.reasons)


async def run_fault(stack: Stack, load: Load, fault: Fault) -> Outcome:
    outcome = Outcome(fault)
    if fault.settings:
        await asyncio.to_thread(stack.reconfigure, fault.settings)
    try:
        if not await asyncio.to_thread(stack.wait_healthy):
            outcome.reasons.append("the stack was not healthy before the fault")
            return outcome
        await _measure(stack, load, fault, outcome)
    finally:
        if fault.settings:
            await asyncio.to_thread(stack.reconfigure, None)
    return outcome


async def _measure(stack: Stack, load: Load, fault: Fault, outcome: Outcome) -> None:
    offsets = {path: _size(path) for path in [*stack.logs(), _haproxy_log(stack)]}
    phase = load.phase(fault.name)
    stop = asyncio.Event()
    started = time.monotonic()
    users = asyncio.create_task(load.users_until(phase, stop))
    polls = asyncio.create_task(load.poll_ready(phase, stop))
    fault_start = fault_end = started
    try:
        await asyncio.sleep(BEFORE)
        fault_start = time.monotonic()
        await fault.act(Context(stack, load, phase))
        fault_end = time.monotonic()
        while (now := time.monotonic()) < fault_end + AFTER_LIMIT:
            await asyncio.sleep(0.5)
            if now < fault_end + AFTER:
                continue
            if recovery_time(phase.requests, fault_end, phase.observed_until(now)) is not None:
                break
    finally:
        load_end = time.monotonic()
        stop.set()
        pending = sum(w.outcome == "pending" for w in phase.writes)
        if pending:
            print(f"  load stopped; waiting for {pending} writes in progress", flush=True)
        await asyncio.gather(users, polls)  # writes in progress go on until settled

    rows = parse_counts(await asyncio.to_thread(stack.titles, phase.prefix))
    outcome.writes = count_writes(
        (w.title for w in phase.writes), (w.title for w in phase.writes if w.acknowledged), rows
    )
    outcome.write_outcomes = Counter(w.outcome for w in phase.writes)
    outcome.slowest_write = max((w.seconds for w in phase.writes if w.acknowledged), default=0)
    outcome.statuses = by_status(phase.requests)
    sent_during = [r for r in phase.requests if fault_start <= r.start < fault_end]
    outcome.during = len(sent_during)
    outcome.bad_during = sum(r.bad for r in sent_during)
    outcome.http_500 = count_500(phase.requests, phase.probes)
    outcome.recovery = recovery_time(phase.requests, fault_end, load_end)
    outcome.fault_start = fault_start - started
    outcome.fault_end = fault_end - started
    outcome.load_seconds = load_end - started
    for instance in stack.instances:
        name = instance.name
        outcome.ready_during[name] = ready_answers(phase.probes, name, fault_start, fault_end)
        outcome.ready_after[name] = ready_answers(phase.probes, name, fault_end, load_end)
    outcome.log_lines = distinct_lines(offsets)
    acknowledged = ((w.first, w.acknowledged_at) for w in phase.writes if w.acknowledged)
    outcome.writes_recovered = write_recovery(acknowledged, fault_end)
    outcome.reasons = failures(
        outcome.writes,
        outcome.http_500,
        outcome.recovery,
        writes_recovered=outcome.writes_recovered,
        given_up=outcome.write_outcomes["given up"],
        availability=Availability(outcome.during, outcome.bad_during, fault.tolerated),
    )


def _haproxy_log(stack: Stack) -> Path:
    assert stack.haproxy is not None
    return stack.haproxy.log


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
