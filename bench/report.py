"""The Markdown report and PNG charts of a run's results (bench/results/<scale>-<backend>.*)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.scenarios import (
    GROWTH_GOAL,
    GROWTH_LIMIT,
    GROWTH_NAME,
    GROWTH_SUFFIX,
    LATENCY_CONNECTIONS,
    MIXED_LOGIN_CONNECTIONS,
    SCENARIOS,
    TARGETS,
    latency_label,
)

TARGET_CONFIG = "medium scale, PostgreSQL, 1 worker pinned to a core, 64 connections"
UNITS: dict[str, Callable[[float], str]] = {  # how a target's value is shown, by its unit
    "ratio": lambda v: f"{v:.0%}",
    "ms": lambda v: f"{v:.1f} ms",
    "µs": lambda v: f"{v:,.0f} µs",
    "x": lambda v: f"{v:.2f}x",
}


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _reference(run: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any] | None:
    """The ceiling run at the same connection count (the bare route for the tags)."""
    if run["app"] == "ceiling" or run["scenario"] == "mixed":
        return None
    if run["scenario"] == "tags":
        return runs.get("bare")
    label = "ceiling" if run["connections"] != LATENCY_CONNECTIONS else latency_label("ceiling")
    return runs.get(label) or runs.get("ceiling")


def _mixed(run: dict[str, Any]) -> bool:
    """One of the two loads of the mixed run (article reads + logins at once)."""
    return "+" in run["label"]


def title(run: dict[str, Any]) -> str:
    if _mixed(run):
        if run["scenario"] == "login":
            return f"{run['title']}, beside the reads above"
        return f"{run['title']}, while {MIXED_LOGIN_CONNECTIONS} connections log in"
    return str(run["title"])


def _ratio_text(run: dict[str, Any], runs: dict[str, Any]) -> str:
    ref = _reference(run, runs)
    if ref is None or not ref["rps"] or _mixed(run):
        return "-"
    name = "bare" if ref["scenario"] == "bare" else "ceiling"
    ratio = run["rps"] / ref["rps"]
    return f"{ratio:.0%} of {name}" if ratio >= 0.1 else f"{ratio:.1%} of {name}"


def growth(results_dir: Path, backend: str) -> tuple[float | None, str]:
    """large / small p50 of the signed-in list, when both scales' results are there: the
    growth runs' that `python -m bench all` makes in the same sweep, or else a full run's
    (which may be older: an example committed from another machine or commit)."""
    label = latency_label("articles")
    p50 = {}
    for scale in ("small", "large"):
        for name in (f"{scale}-{backend}{GROWTH_SUFFIX}.json", f"{scale}-{backend}.json"):
            path = results_dir / name
            run = json.loads(path.read_text())["runs"].get(label) if path.exists() else None
            if run is not None:
                p50[scale] = float(run["p50_ms"])
                break
    if len(p50) < 2:
        missing = " and ".join(s for s in ("small", "large") if s not in p50)
        return None, f"needs a {missing}-scale result in {results_dir.name}/"
    return p50["large"] / p50["small"], f"{_ms(p50['small'])} → {_ms(p50['large'])} ms"


def targets_table(results: dict[str, Any], results_dir: Path) -> list[str]:
    runs = results["runs"]
    lines = ["| target | goal | measured | result |", "| --- | --- | --- | --- |"]
    for target in TARGETS:
        value = target.measure(runs)
        if value is None:
            shown, verdict = "not measured", "-"
        else:
            shown = UNITS[target.unit](value)
            verdict = "**pass**" if target.passes(value) else "**miss**"
        lines.append(f"| {target.name} | {target.goal} | {shown} | {verdict} |")
    ratio, detail = growth(results_dir, results["meta"]["backend"])
    if ratio is None:
        lines.append(f"| {GROWTH_NAME} | {GROWTH_GOAL} | not measured ({detail}) | - |")
    else:
        verdict = "**pass**" if ratio < GROWTH_LIMIT else "**miss**"
        lines.append(f"| {GROWTH_NAME} | {GROWTH_GOAL} | {ratio:.2f}x ({detail}) | {verdict} |")
    return lines


def results_table(runs: dict[str, Any]) -> list[str]:
    lines = [
        "| request | conn. | req/s | vs ceiling | p50 ms | p99 ms | server CPU µs/req "
        "| DB CPU µs/req | SQL/req | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs.values():
        lines.append(
            f"| {title(run)} | {run['connections']} | {_num(run['rps'])} "
            f"| {_ratio_text(run, runs)} "
            f"| {_ms(run['p50_ms'])} | {_ms(run['p99_ms'])} | {_num(run['cpu_us_per_request'])} "
            f"| {_num(run['db_cpu_us_per_request'])} | {_num(run['sql_per_request'])} "
            f"| {_errors(run['errors'])} |"
        )
    return lines


def _errors(errors: dict[str, int]) -> str:
    """wrk's errors: "status" counts answers of 400 and above, the others socket errors."""
    total = sum(errors.values())
    if not total:
        return ""
    return f"{total} (" + ", ".join(f"{k} {n:,}" for k, n in errors.items() if n) + ")"


def notes(runs: dict[str, Any]) -> list[str]:
    lines = [
        "Notes:",
        "",
        "- Requests are signed in (`Authorization: Token ...`) unless marked anonymous; "
        '"vs ceiling" is the ratio to the ceiling app at the same connection count (the '
        "tags: to the bare route).",
        "- SQL/req counts SELECT/INSERT/UPDATE/DELETE statements; BEGIN, COMMIT and the "
        "pool's pre-ping are further round trips to the database that it leaves out.",
        "- With the server saturated (64 connections on one core), latency is mostly queueing: "
        "read p50/p99 of the 16-connection rows for the latency of a request itself.",
    ]
    seen = set()
    for run in runs.values():
        scenario = SCENARIOS.get(run["scenario"])
        if scenario is not None and scenario.note and scenario.key not in seen:
            seen.add(scenario.key)
            lines.append(f"- {scenario.title}: {scenario.note}.")
    for run in runs.values():
        if "server" in run:  # a row on a server of its own (bench/plan.py)
            server = run["server"]
            pinned = f", pinned to CPUs {server['cpu']}" if server["cpu"] else ", not pinned"
            extra = "".join(f", `{k}={v}`" for k, v in server["settings"].items())
            lines.append(
                f"- {run['title']}: `conduit serve --workers {server['workers']}`{pinned}{extra}."
            )
    return lines


def render_markdown(results: dict[str, Any], results_dir: Path, charts: list[Path]) -> str:
    meta, data, runs = results["meta"], results["data"], results["runs"]
    rows = ", ".join(f"{table} {count:,}" for table, count in data["rows"].items())
    seed = data.get("seed")
    access_log = "on" if meta["access_log"] else "off (`--no-access-log`)"
    lines = [f"# Conduit benchmark: {meta['scale']} scale, {meta['database']}", ""]
    if meta.get("label"):
        lines += [f"> {meta['label']}", ""]
    lines += [
        f"Targets are set for {TARGET_CONFIG}; figures of another configuration are "
        "indicative only.",
        "",
        "## Setup",
        "",
        f"- run {meta['started']} to {meta['finished']}, commit `{meta['commit']}`, "
        f"{meta['machine']}, load average before the run {meta['load_average_before']}",
        f"- data: {rows}" + (f" (seeded in {seed['seconds']} s)" if seed else " (not re-seeded)"),
        f"- server: `conduit serve --workers {meta['workers']}`"
        + (f", pinned to CPU {meta['server_cpu']}" if meta["server_cpu"] else "")
        + f"; access log {access_log}; read cache "
        + ("on" if meta["cache_enabled"] else "off")
        + (" (Redis)" if meta["redis"] else " (in-process)" if meta["cache_enabled"] else "")
        + "; settings "
        + ", ".join(f"`{k}={v}`" for k, v in meta["settings"].items()),
        f"- load: {meta['wrk']}"
        + (f", pinned to CPU {meta['wrk_cpu']}" if meta["wrk_cpu"] else "")
        + f", {meta['warmup_s']:g} s warm-up then {meta['duration_s']:g} s per row, "
        f"{meta['connections']} connections (latency rows: {meta['latency_connections']}); "
        "signed-in rows use the tokens of users who logged in through the API, slugs, tags and "
        "authors drawn at random per request (bench/wrk.lua)",
        "- ceiling: bench/ceiling.py under uvicorn with the same worker count and pinning; "
        "server CPU is the utime + stime of the server's process tree per request, DB CPU that "
        "of the PostgreSQL backends connected to the database; SQL/req is counted in-process "
        "(the second of two requests: cached reads count 0; a write's second is a new one)",
        "",
        "## Targets",
        "",
        *targets_table(results, results_dir),
        "",
        "## Results",
        "",
        *results_table(runs),
        "",
        *notes(runs),
        "",
    ]
    for chart in charts:
        lines += [f"![{chart.stem}]({chart.name})", ""]
    return "\n".join(lines)


def _charts(results: dict[str, Any], stem: str, results_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    meta = results["meta"]
    main = [r for r in runs.values() if r["label"] == r["scenario"]]  # not @16, not mixed
    suffix = f"{meta['scale']} scale, {meta['backend']}, {meta['workers']} worker(s)"
    paths: list[Path] = []

    def colour(run: dict[str, Any]) -> str:
        return "#9e9e9e" if run["app"] == "ceiling" else "#1f77b4"

    # Throughput, with the share of the ceiling written beside each bar.
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(main) + 1.5))
    names = [r["title"] for r in main][::-1]
    values = [r["rps"] for r in main][::-1]
    ax.barh(names, values, color=[colour(r) for r in main][::-1])
    for y, run in enumerate(main[::-1]):
        text = _ratio_text(run, runs)
        ax.text(run["rps"], y, f"  {run['rps']:,.0f}" + ("" if text == "-" else f" ({text})"),
                va="center", fontsize=8)  # fmt: skip
    ax.set_xlabel(
        f"requests per second at {meta['connections']} connections, logins at 8 (higher is better)"
    )
    ax.set_title(f"Throughput: {suffix}")
    ax.set_xlim(0, max(values) * 1.35)
    fig.tight_layout()
    paths.append(results_dir / f"{stem}-throughput.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    # Latency: p50 and p99 of every run, log scale.
    every = list(runs.values())
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(every) + 1.5))
    ys = range(len(every))
    labels = [f"{title(r)} @{r['connections']}" for r in every][::-1]
    p50 = [r["p50_ms"] for r in every][::-1]
    p99 = [r["p99_ms"] for r in every][::-1]
    ax.barh([y + 0.2 for y in ys], p50, height=0.4, label="p50", color="#1f77b4")
    ax.barh([y - 0.2 for y in ys], p99, height=0.4, label="p99", color="#ff7f0e")
    ax.set_yticks(list(ys), labels)
    ax.set_xscale("log")
    ax.axvline(50, color="red", linestyle="--", linewidth=1, label="50 ms")
    ax.set_xlabel("latency, ms (log scale; lower is better)")
    ax.set_title(f"Latency: {suffix}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    paths.append(results_dir / f"{stem}-latency.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    # CPU per request: the server's and the database's.
    measured = [r for r in main if r["cpu_us_per_request"] is not None]
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(measured) + 1.5))
    names = [r["title"] for r in measured][::-1]
    server = [r["cpu_us_per_request"] for r in measured][::-1]
    db = [r["db_cpu_us_per_request"] or 0.0 for r in measured][::-1]
    ax.barh(names, server, label="server process", color="#1f77b4")
    ax.barh(names, db, left=server, label="PostgreSQL backends", color="#2ca02c")
    ax.set_xscale("log")
    ax.set_xlim(left=50)
    ax.set_xlabel("CPU µs per request (log scale; lower is better)")
    ax.set_title(f"CPU per request: {suffix}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    paths.append(results_dir / f"{stem}-cpu.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def write_report(results_path: Path) -> Path:
    results = json.loads(results_path.read_text())
    results_dir = results_path.parent
    stem = results_path.stem
    charts = _charts(results, stem, results_dir)
    report = results_dir / f"{stem}.md"
    report.write_text(render_markdown(results, results_dir, charts))
    return report
