"""The fault suite's own arithmetic (chaos/): recovery time, lost and duplicated writes,
failure reasons and the log digest. The suite itself (`python -m chaos`) runs in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.logs import distinct_lines
from chaos.measure import (
    CONN,
    STEADY_WINDOW,
    TIMEOUT,
    Availability,
    Probe,
    Request,
    WriteCounts,
    count_500,
    count_writes,
    failures,
    parse_counts,
    ready_answers,
    recovery_time,
    tally,
    write_recovery,
)


def requests(*sent: tuple[float, str]) -> list[Request]:
    return [Request(start, start + 0.01, status) for start, status in sent]


def test_no_error_after_the_fault_recovers_at_once() -> None:
    log = requests((9.0, "503"), (10.2, "200"), (11.0, "200"), (12.5, "201"))
    assert recovery_time(log, fault_end=10.0, observed_until=20.0) == 0.0


def test_recovery_starts_at_the_first_good_request_of_a_clean_window() -> None:
    log = requests(
        (10.5, "503"), (11.0, CONN), (12.0, "200"), (12.5, TIMEOUT), (13.0, "200"),
        (14.0, "409"), (15.5, "200"),
    )  # fmt: skip
    # 12.0 is followed by a timeout within the window; 13.0 starts a clean one.
    assert recovery_time(log, fault_end=10.0, observed_until=20.0) == 3.0


def test_an_empty_window_is_no_recovery() -> None:
    log = requests((10.1, "503"), (15.0, "200"), (16.0, "200"))
    assert recovery_time(log, fault_end=10.0, observed_until=20.0) == 5.0


def test_not_recovered_when_no_clean_window_was_observed() -> None:
    log = requests((10.0, "503"), (11.0, "200"), (12.0, "502"), (12.9, "200"))
    assert recovery_time(log, fault_end=10.0, observed_until=12.9 + STEADY_WINDOW - 0.1) is None
    recovered = recovery_time(log, fault_end=10.0, observed_until=12.9 + STEADY_WINDOW)
    assert recovered == pytest.approx(2.9)


def test_lost_and_duplicated_writes() -> None:
    rows = parse_counts("t1|1\nt2|2\nt4|3\n")
    counts = count_writes(sent=["t1", "t2", "t3", "t4"], acknowledged=["t1", "t2", "t3"], rows=rows)
    assert counts == WriteCounts(sent=4, acknowledged=3, lost=("t3",), duplicated=("t2", "t4"))


def test_titles_with_a_bar_are_read_whole() -> None:
    assert parse_counts("a|b|2") == {"a|b": 2}


def test_failure_reasons() -> None:
    clean = WriteCounts(10, 10)
    assert failures(clean, 0, 0.0) == []
    assert failures(clean, 0, 30.0) == []
    assert failures(clean, 0, 30.5) == ["recovery 30.5 s > 30 s"]
    assert failures(clean, 0, None) == ["not recovered within 30 s"]
    broken = WriteCounts(10, 9, lost=("a",), duplicated=("b", "c"))
    assert failures(broken, 2, 1.0) == [
        "1 acknowledged writes lost",
        "2 writes duplicated",
        "2 HTTP 500s",
    ]


def test_writes_held_back_and_a_service_down_for_what_it_can_serve_without_fail() -> None:
    clean = WriteCounts(10, 10)
    assert write_recovery([], 100.0) == 0.0
    # (first attempt, acknowledged): a write sent after the fault counts from its sending.
    assert write_recovery([(80.0, 90.0), (95.0, 101.5), (103.0, 103.5)], 100.0) == 1.5
    assert failures(clean, 0, 0.0, writes_recovered=30.0) == []
    assert failures(clean, 0, 0.0, writes_recovered=57.0) == [
        "a write acknowledged 57.0 s after the fault"
    ]
    assert failures(clean, 0, 0.0, given_up=2) == ["2 writes never acknowledged"]
    down = Availability(sent=1000, bad=900, tolerated=0.01)
    assert failures(clean, 0, 0.0, availability=down) == [
        "900 of 1000 requests bad during the fault (90.0% > 1%)"
    ]
    assert failures(clean, 0, 0.0, availability=Availability(1000, 10, 0.01)) == []
    assert failures(clean, 0, 0.0, availability=Availability(1000, 900, None)) == []
    assert Availability(0, 0, 0.01).share == 0.0


def test_500s_and_ready_answers() -> None:
    probes = [
        Probe(1.0, "a", "200", "ok"),
        Probe(1.5, "a", "503", "unavailable"),
        Probe(2.0, "a", "503", "unavailable"),
        Probe(2.5, "a", CONN, "-"),
        Probe(2.6, "b", "500", "-"),
        Probe(9.0, "a", "200", "ok"),
    ]
    assert count_500(requests((1.0, "500"), (2.0, "503")), probes) == 2
    during = ready_answers(probes, "a", 1.0, 3.0)
    assert tally(during) == "503 unavailablex2  200 okx1  connx1"
    assert tally({}) == "-"


def test_log_digest_reads_from_the_offset_and_folds_repeats(tmp_path: Path) -> None:
    app = tmp_path / "conduit-a.log"
    old = '{"level": "error", "logger": "x", "event": "before the run"}\n'
    app.write_text(
        old
        + '{"level": "info", "logger": "uvicorn", "event": "started"}\n'
        + '{"level": "warning", "logger": "conduit.faults", "event": "down (3 more since)"}\n'
        + '{"level": "warning", "logger": "conduit.faults", "event": "down (7 more since)"}\n'
        + '{"level": "error", "logger": "conduit", "event": "boom", '
        + '"exception": "T\\nKeyError: 1"}\n'
    )
    haproxy = tmp_path / "haproxy.log"
    answered = "conduit instances/a 0/0/0/1/1 503 10 - - ---- 1/1/0/0/0 0/0"
    refused = "conduit instances/<NOSRV> 0/-1/-1/-1/0 503 10 - - SC-- 1/1/0/0/0 0/0"
    haproxy.write_text(
        f'127.0.0.1:5 [x] {answered} "GET /api/tags HTTP/1.1"\n'
        f'127.0.0.1:6 [x] {refused} "GET /api/articles/s-1?x=1 HTTP/1.1"\n'
        "[WARNING]  (12) : Server instances/a is DOWN, reason: Layer4, check duration: 1ms.\n"
        "Server instances/a is DOWN, reason: Layer4, check duration: 1ms.\n"
    )
    lines = distinct_lines({app: len(old), haproxy: 0})
    assert lines == {
        "conduit-a.log: warning conduit.faults: down (N more since)": 2,
        "conduit-a.log: error conduit: boom [KeyError: 1]": 1,
        "haproxy.log: <NOSRV> 503 SC-- GET /api/articles/{slug}": 1,
        "haproxy.log: Server instances/a is DOWN, reason: Layer4": 1,
    }
