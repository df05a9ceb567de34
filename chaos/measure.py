"""What the fault suite counts, from the records of one fault's run: no servers involved.

Times are `time.monotonic()` seconds. A request through HAProxy is "bad" when it got a 5xx,
a connection error or a timeout; anything else (2xx, 3xx, 4xx, a 409 or a 429 included) is
an answer the service gave on purpose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# A recovery needs this many seconds of requests without a bad one.
STEADY_WINDOW = 2.0
# The bound: recovery slower than this after the fault ends fails the fault.
MAX_RECOVERY = 30.0

CONN = "conn"  # the connection was refused, reset or closed before an answer
TIMEOUT = "timeout"  # no answer within the client's timeout


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request the load sent through HAProxy (a retry is a request of its own)."""

    start: float
    end: float
    status: str  # the HTTP status code as text, or CONN, or TIMEOUT
    write: bool = False

    @property
    def bad(self) -> bool:
        return self.status in (CONN, TIMEOUT) or self.status.startswith("5")


@dataclass(frozen=True, slots=True)
class Probe:
    """One answer of an instance's own /ready, polled directly (not through HAProxy)."""

    at: float
    instance: str
    code: str  # the HTTP status code as text, or CONN, or TIMEOUT
    status: str  # the body's "status", or "-" when there is none

    @property
    def label(self) -> str:
        return self.code if self.status == "-" else f"{self.code} {self.status}"


def recovery_time(
    requests: Iterable[Request], fault_end: float, observed_until: float
) -> float | None:
    """Seconds from the end of the fault to the moment requests succeed steadily again.

    That moment is the earliest instant `c` among the fault's end and the start of every
    request sent after it such that the window [c, c + STEADY_WINDOW) holds at least one
    request and no bad one (requests are placed by the instant they were sent, retries
    included), and lies wholly before `observed_until`. A fault after which no request went
    wrong recovers in 0 s, as long as requests keep being sent. None when no such window
    was observed (not recovered)."""
    sent = sorted((r.start, r.bad) for r in requests if r.start >= fault_end)
    bad = [start for start, is_bad in sent if is_bad]
    candidates = [fault_end, *(start for start, is_bad in sent if not is_bad)]
    for c in candidates:
        if c + STEADY_WINDOW > observed_until:
            return None
        window_end = c + STEADY_WINDOW
        if any(c <= b < window_end for b in bad):
            continue
        if any(c <= start < window_end for start, _ in sent):
            return c - fault_end
    return None


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """Acknowledged writes against the rows found: `lost` were acknowledged and are absent,
    `duplicated` were sent (acknowledged or not) and exist more than once."""

    sent: int
    acknowledged: int
    lost: tuple[str, ...] = field(default=())
    duplicated: tuple[str, ...] = field(default=())


def count_writes(
    sent: Iterable[str], acknowledged: Iterable[str], rows: Mapping[str, int]
) -> WriteCounts:
    """`rows` maps each title found in the database to the number of articles with it."""
    sent_titles = sorted(set(sent))
    acked = sorted(set(acknowledged))
    lost = tuple(t for t in acked if rows.get(t, 0) == 0)
    duplicated = tuple(t for t in sent_titles if rows.get(t, 0) > 1)
    return WriteCounts(len(sent_titles), len(acked), lost, duplicated)


def parse_counts(psql_output: str) -> dict[str, int]:
    """`title|count` lines (psql's unaligned output) as a mapping."""
    rows: dict[str, int] = {}
    for line in psql_output.splitlines():
        title, sep, count = line.rpartition("|")
        if sep:
            rows[title] = int(count)
    return rows


def by_status(requests: Iterable[Request]) -> Counter[str]:
    return Counter(r.status for r in requests)


def ready_answers(probes: Iterable[Probe], instance: str, start: float, end: float) -> Counter[str]:
    """What the instance's /ready answered between `start` and `end`."""
    return Counter(p.label for p in probes if p.instance == instance and start <= p.at < end)


def count_500(requests: Iterable[Request], probes: Iterable[Probe]) -> int:
    return sum(r.status == "500" for r in requests) + sum(p.code == "500" for p in probes)


def write_recovery(writes: Iterable[tuple[float, float]], fault_end: float) -> float:
    """The longest a write waited after the fault had ended, from the later of the fault's
    end and its first attempt to its acknowledgement (`writes`: (first attempt,
    acknowledged) instants): a write held back after the fault (a key still claimed, a
    retry refused) delays recovery as much as a failing read does."""
    return max((done - max(first, fault_end) for first, done in writes), default=0.0)


@dataclass(frozen=True, slots=True)
class Availability:
    """Requests sent while the fault lasted, the bad ones among them, and the share of bad
    ones tolerated when the service should have kept serving through the fault (None:
    it may not, as when its database is down)."""

    sent: int
    bad: int
    tolerated: float | None = None

    @property
    def share(self) -> float:
        return self.bad / self.sent if self.sent else 0.0


def failures(
    writes: WriteCounts,
    http_500: int,
    recovery: float | None,
    *,
    writes_recovered: float = 0.0,
    given_up: int = 0,
    availability: Availability | None = None,
) -> list[str]:
    """The issue's failure criteria, each as a reason: a lost or duplicated acknowledged
    write, any 500, recovery (of requests or of writes) slower than `MAX_RECOVERY`, a write
    never acknowledged, and, for a fault the service should serve through, more bad
    requests than the fault tolerates."""
    reasons: list[str] = []
    if writes_recovered > MAX_RECOVERY:
        reasons.append(f"a write acknowledged {writes_recovered:.1f} s after the fault")
    if given_up:
        reasons.append(f"{given_up} writes never acknowledged")
    tolerated = availability.tolerated if availability is not None else None
    if availability is not None and tolerated is not None and availability.share > tolerated:
        reasons.append(
            f"{availability.bad} of {availability.sent} requests bad during the fault "
            f"({availability.share:.1%} > {tolerated:.0%})"
        )
    if writes.lost:
        reasons.append(f"{len(writes.lost)} acknowledged writes lost")
    if writes.duplicated:
        reasons.append(f"{len(writes.duplicated)} writes duplicated")
    if http_500:
        reasons.append(f"{http_500} HTTP 500s")
    if recovery is None:
        reasons.append(f"not recovered within {MAX_RECOVERY:.0f} s")
    elif recovery > MAX_RECOVERY:
        reasons.append(f"recovery {recovery:.1f} s > {MAX_RECOVERY:.0f} s")
    return reasons


def tally(counter: Mapping[str, int]) -> str:
    """`200x12  503x3`, most frequent first (ties by label)."""
    if not counter:
        return "-"
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return "  ".join(f"{label}x{count}" for label, count in items)
