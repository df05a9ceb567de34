"""The `python -m bench` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bench.scales import SCALES

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/conduit_bench"

app = typer.Typer(
    help="Conduit's benchmark suite.", no_args_is_help=True, pretty_exceptions_show_locals=False
)

ScaleOpt = Annotated[
    str, typer.Option(help=f"Data-set size: {', '.join(SCALES)} (about 10k/100k/1M articles).")
]
DatabaseOpt = Annotated[
    str,
    typer.Option(
        envvar="BENCH_DATABASE_URL",
        help="PostgreSQL (postgresql+asyncpg://...) or, for small scales, sqlite+aiosqlite:///file",
    ),
]


def _scale(name: str) -> str:
    if name not in SCALES:
        raise typer.BadParameter(f"unknown scale {name!r}; one of {', '.join(SCALES)}")
    return name


@app.command()
def seed(scale: ScaleOpt = "small", database_url: DatabaseOpt = DEFAULT_PG) -> None:
    """Create, migrate, empty and fill the database with a realistic data set (bulk SQL)."""
    from bench.seed import seed as run_seed

    result = run_seed(database_url, SCALES[_scale(scale)])
    counts = ", ".join(f"{table} {count:,}" for table, count in result.rows.items())
    typer.echo(f"seeded {result.scale} in {result.seconds:.1f} s: {counts}")


@app.callback()
def main() -> None:
    """Seed a data set, run the load against Conduit and a ceiling app, write the report."""


@app.command()
def run(
    scale: ScaleOpt = "small",
    database_url: DatabaseOpt = DEFAULT_PG,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load per row.")] = 10,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of warm-up per row.")] = 3,
    connections: Annotated[int, typer.Option(min=1, help="Connections for throughput.")] = 64,
    workers: Annotated[int, typer.Option(min=1, help="Server worker processes.")] = 1,
    server_cpu: Annotated[
        str, typer.Option(help="CPU list for the servers (taskset -c); '' for none.")
    ] = "1",
    wrk_cpu: Annotated[str, typer.Option(help="CPU list for wrk; '' for none.")] = "0",
    access_log: Annotated[bool, typer.Option(help="The server's access log.")] = True,
    redis_url: Annotated[
        str | None, typer.Option(help="Give the server Redis (shared cache, throttling).")
    ] = None,
    reseed: Annotated[bool, typer.Option("--seed/--no-seed", help="Seed first.")] = True,
    only: Annotated[
        list[str] | None, typer.Option(help="Only these scenarios (repeatable), e.g. articles.")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="An extra server setting, KEY=VALUE (repeatable)."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note shown at the top of the report.")] = "",
    report: Annotated[bool, typer.Option(help="Write the Markdown report and charts.")] = True,
) -> None:
    """Seed, start the ceiling app and `conduit serve`, load them with wrk, write the report."""
    from bench.runner import Options, run_benchmark
    from bench.scenarios import SCENARIOS

    for key in only or ():
        if key not in SCENARIOS:
            raise typer.BadParameter(f"unknown scenario {key!r}; one of {', '.join(SCENARIOS)}")
    extra = {}
    for item in setting or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set takes KEY=VALUE, not {item!r}")
        extra[key.upper()] = value
    options = Options(
        scale=_scale(scale),
        database_url=database_url,
        duration=duration,
        warmup=warmup,
        connections=connections,
        workers=workers,
        server_cpu=server_cpu or None,
        wrk_cpu=wrk_cpu or None,
        access_log=access_log,
        redis_url=redis_url,
        seed=reseed,
        only=tuple(only or ()),
        settings=extra,
        label=label,
    )
    path = run_benchmark(options)
    if report:
        write_report_for(path)


def _database_for(database_url: str, scale: str) -> str:
    """`.../conduit_bench` -> `.../conduit_bench_medium`: one database per scale, so that a
    scale's data set survives the next scale's seed."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise typer.BadParameter("`bench all` needs PostgreSQL (medium and large scales)")
    return url.set(database=f"{url.database}_{scale}").render_as_string(hide_password=False)


@app.command("all")
def run_all(
    database_url: DatabaseOpt = DEFAULT_PG,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load per row.")] = 10,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of warm-up per row.")] = 3,
    server_cpu: Annotated[str, typer.Option(help="CPU list for the servers.")] = "1",
    wrk_cpu: Annotated[str, typer.Option(help="CPU list for wrk.")] = "0",
    access_log: Annotated[bool, typer.Option(help="The server's access log.")] = True,
    growth: Annotated[
        bool, typer.Option(help="Also the small- and large-scale runs of the growth target.")
    ] = True,
    reseed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed each scale's database first.")
    ] = True,
    label: Annotated[str, typer.Option(help="A note shown at the top of the report.")] = "",
) -> None:
    """The whole benchmark as issues 6 and 24 set it: seed and load the signed-in list at
    small and large scale (the p50 growth target), then seed medium and run every scenario
    against the ceiling app; one worker pinned to a core (the mixed workload also on 2), 64
    connections (p99 at 16). Writes bench/results/medium-postgresql.{json,md} and its
    charts, and the growth runs' files."""
    from bench.runner import Options, run_benchmark
    from bench.scenarios import GROWTH_KEYS, GROWTH_SUFFIX

    common: dict[str, Any] = {
        "duration": duration,
        "warmup": warmup,
        "server_cpu": server_cpu or None,
        "wrk_cpu": wrk_cpu or None,
        "access_log": access_log,
        "label": label,
        "seed": reseed,
    }
    if growth:
        for scale in ("small", "large"):
            url = _database_for(database_url, scale)
            run_benchmark(Options(scale, url, only=GROWTH_KEYS, suffix=GROWTH_SUFFIX, **common))
    write_report_for(
        run_benchmark(Options("medium", _database_for(database_url, "medium"), **common))
    )


def write_report_for(path: Path) -> None:
    from bench.report import write_report

    typer.echo(f"report: {write_report(path)}")


@app.command("report")
def report_command(
    results: Annotated[
        Path, typer.Argument(help="A results file, e.g. bench/results/small-postgresql.json")
    ],
) -> None:
    """Write the Markdown report and charts of a results file again."""
    write_report_for(results)


@app.command("profile")
def profile_command(
    scale: Annotated[
        str, typer.Option(help="The scale the database holds (for the name).")
    ] = "small",
    database_url: DatabaseOpt = DEFAULT_PG,
    scenario: Annotated[
        str, typer.Option(help="What to load, e.g. articles, feed, tags.")
    ] = "articles",
    seconds: Annotated[float, typer.Option(min=1, help="Seconds sampled.")] = 10,
    connections: Annotated[int, typer.Option(min=1)] = 16,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    server_cpu: Annotated[str, typer.Option(help="CPU list for the server.")] = "1",
    wrk_cpu: Annotated[str, typer.Option(help="CPU list for wrk.")] = "0",
    access_log: Annotated[bool, typer.Option(help="The server's access log.")] = True,
) -> None:
    """Sample the server with py-spy under load (seed first: this uses the database as is)."""
    from bench.profile import profile
    from bench.runner import Options
    from bench.scenarios import SCENARIOS

    if scenario not in SCENARIOS or SCENARIOS[scenario].app != "conduit":
        raise typer.BadParameter(f"unknown Conduit scenario {scenario!r}")
    options = Options(
        scale=_scale(scale),
        database_url=database_url,
        warmup=2,
        workers=workers,
        server_cpu=server_cpu or None,
        wrk_cpu=wrk_cpu or None,
        access_log=access_log,
        seed=False,
    )
    typer.echo(f"profile: {profile(options, scenario, seconds, connections)}")


@app.command("asgi")
def asgi_command(
    database_url: DatabaseOpt = DEFAULT_PG,
    requests: Annotated[int, typer.Option(min=1, help="Requests per round.")] = 3000,
    warmup: Annotated[int, typer.Option(min=0, help="Requests before the rounds.")] = 300,
    repeat: Annotated[int, typer.Option(min=1, help="Rounds; the best one counts.")] = 5,
    access_log: Annotated[str, typer.Option(help="The access log: on, off or both.")] = "both",
    rate_limit: Annotated[bool, typer.Option(help="Rate limits (never refusing).")] = True,
    only: Annotated[
        list[str] | None, typer.Option(help="Only these probes (repeatable), e.g. tags.")
    ] = None,
    log_file: Annotated[str, typer.Option(help="Where the log lines go.")] = "/dev/null",
    profile: Annotated[
        str | None, typer.Option(help="cProfile this one probe instead (e.g. tags).")
    ] = None,
) -> None:
    """CPU µs per request through the ASGI app in-process (no sockets): the fixed cost of
    the middleware stack and the plumbing, beside a bare FastAPI route."""
    from bench import asgi

    logs = {"on": (True,), "off": (False,), "both": (False, True)}
    if access_log not in logs:
        raise typer.BadParameter("--access-log takes on, off or both")
    keys = {probe.key for probe in asgi.PROBES}
    for key in [*(only or ()), *([profile] if profile else [])]:
        if key not in keys:
            raise typer.BadParameter(f"unknown probe {key!r}; one of {', '.join(sorted(keys))}")
    if profile:
        text = asgi.profile(
            database_url,
            profile,
            access_log=logs[access_log][-1],
            rate_limit=rate_limit,
            requests=requests,
            log_file=log_file,
        )
        typer.echo(text)
        return
    results = asgi.measure_all(
        database_url,
        access_logs=logs[access_log],
        rate_limit=rate_limit,
        requests=requests,
        warmup=warmup,
        repeat=repeat,
        only=tuple(only or ()),
        log_file=log_file,
    )
    typer.echo(asgi.render(results))
