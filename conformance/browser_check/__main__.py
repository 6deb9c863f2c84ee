"""``python -m conformance.browser_check``: the differential run, alone, with more cases."""

from __future__ import annotations

import argparse
import sys

from conformance.browser_check.cases import (
    Skipped,
    cache_sequences,
    edge_cases,
    generated_cases,
    pinned_cases,
)
from conformance.browser_check.driver import chromium_available, playwright_available
from conformance.browser_check.run import run_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.browser_check",
        description="Compare the model (chromium profile) with a real headless Chromium.",
    )
    parser.add_argument("--cases", type=int, default=1000, help="generated cases (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--concurrency", type=int, default=12, help="fetches in flight")
    parser.add_argument("--batch-size", type=int, default=200, help="cases per page.evaluate")
    parser.add_argument("--no-fixed", action="store_true", help="generated cases only")
    parser.add_argument("--no-sequences", action="store_true", help="skip preflight-cache runs")
    args = parser.parse_args(argv)
    if not chromium_available() or not playwright_available():
        print("needs /usr/bin/chromium (apt-get install chromium) and playwright", file=sys.stderr)
        return 2
    cases = generated_cases(args.cases, seed_value=args.seed)
    skipped: list[Skipped] = []
    if not args.no_fixed:
        pinned, skipped = pinned_cases()
        cases = edge_cases() + pinned + cases
    if not args.no_sequences:
        cases += cache_sequences()
    report = run_cases(
        cases,
        skipped=skipped,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(report.summary())
    return 1 if report.disagreements or report.not_compared else 0


if __name__ == "__main__":
    raise SystemExit(main())
