"""`python -m chaos`: start the stack, sign the users up, run each fault under load, report.

Exit status 1 when any fault fails (docs/chaos.md has the criteria), 2 when the stack could
not be set up. Everything started is stopped on the way out, Ctrl-C and SIGTERM included;
the logs stay in the work directory when a fault failed (or with --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from chaos.faults import BY_NAME, FAULTS, Fault
from chaos.load import Load
from chaos.report import fault_block, summary
from chaos.run import Outcome, run_fault
from chaos.stack import Stack


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--only", help="comma-separated fault names (default: every fault)")
    parser.add_argument("--users", type=int, default=20, help="virtual users (default 20)")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the stack running after the faults until Enter, and the logs afterwards",
    )
    return parser.parse_args(argv)


def chosen(only: str | None) -> list[Fault]:
    if not only:
        return list(FAULTS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown faults: {', '.join(unknown)} (see --list)")
    return [BY_NAME[name] for name in names]


async def run_all(stack: Stack, faults: list[Fault], users: int) -> list[Outcome]:
    instances = {i.name: i.url for i in stack.instances}
    load = Load(stack.url, instances, secrets.token_hex(3))
    try:
        await load.sign_up(users)
        setup_500 = load.setup_statuses.count("500")
        if setup_500:
            print(f"sign-up: {setup_500} HTTP 500s", flush=True)
        outcomes: list[Outcome] = []
        for fault in faults:
            print(f"\n... {fault.name}: {fault.summary}", flush=True)
            try:
                outcome = await run_fault(stack, load, fault)
            except Exception as exc:  # a harness or stack failure fails this fault only
                outcome = Outcome(fault, reasons=[f"harness error: {exc!r}"])
            print(fault_block(outcome, [*stack.logs(), stack.workdir]), flush=True)
            outcomes.append(outcome)
        if setup_500:
            outcomes[0].reasons.append(f"{setup_500} HTTP 500s at sign-up")
        return outcomes
    finally:
        await load.close()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the clean-up below, as Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.list:
        for fault in FAULTS:
            print(f"{fault.name:<16} {fault.summary}")
        return 0
    faults = chosen(args.only)
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    try:
        stack = Stack.start()
    except Exception as exc:
        print(f"chaos: the stack could not be started: {exc}", file=sys.stderr)
        return 2
    failed = True
    try:
        print(f"stack: HAProxy {stack.url}, logs in {stack.workdir}", flush=True)
        try:
            outcomes = asyncio.run(run_all(stack, faults, args.users))
        except KeyboardInterrupt:
            print("chaos: interrupted", file=sys.stderr, flush=True)
            return 130
        failed = any(o.failed for o in outcomes)
        print("\n" + summary(outcomes, time.monotonic() - began), flush=True)
        if args.keep:
            input(f"stack still running at {stack.url}; press Enter to stop it ")
    finally:
        stack.close()
        if failed or args.keep:
            print(f"logs kept in {stack.workdir}", flush=True)
        else:
            shutil.rmtree(stack.workdir, ignore_errors=True)
            print("logs removed: every fault passed (--keep keeps them)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
