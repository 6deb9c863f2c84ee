"""``cors-conformance``: run the suite, explain one exchange, lint a policy; and, from a run's
results.json, replay its divergences, pin them as regression tests, start a baseline, or
render the reports again.

Exit status (``run``): 0 no divergence (or only known ones, see ``--baseline``), 1 divergences
found, 2 usage or policy error, 3 target unreachable or failing (setup errors), 4 an internal
error of the suite. ``replay``: 1 if any record still diverges.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.outcomes import UsageError
from conformance.suite_profiles import PROFILES

DEFAULT_MAX_REQUESTS = 20_000  # conformance.targets' defaults, without importing httpx here
DEFAULT_RATE = 100.0

EXIT_OK, EXIT_DIVERGENCES, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; the report of what was found is still written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cors-conformance",
        description="Property-based conformance suite for server-side CORS implementations.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suite against a target")
    target = run.add_mutually_exclusive_group()
    target.add_argument("--app", metavar="MODULE:ATTR", help="in-process ASGI or WSGI app")
    target.add_argument("--url", metavar="URL", help="a server over HTTP, in any language")
    target.add_argument("--framework", metavar="NAME", help="a framework built from the policy")
    run.add_argument("--policy", metavar="FILE", help="policy TOML file (default: bundled)")
    run.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="dev",
        help="dev (25 examples per property), ci (100), thorough (1000)",
    )
    run.add_argument("--paths", nargs="+", metavar="PATH", help="paths to test")
    run.add_argument("--report-dir", default="cors-report", metavar="DIR")
    run.add_argument(
        "-n",
        "--workers",
        default="0",
        metavar="N",
        help="parallel workers (0: none; 'auto': one per core)",
    )
    run.add_argument(
        "--parallel",
        choices=("fork", "xdist"),
        default=None,
        help="how -n starts its workers: fork (forked from this process once the suite is "
        "loaded; the default where os.fork exists) or xdist (pytest-xdist's fresh interpreters)",
    )
    run.add_argument("--seed", type=int, help="seed; printed when chosen at random")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per request (URL)")
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop drawing new cases after this long; the report says the run is incomplete",
    )
    run.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="--url: also send unsafe methods (PUT, DELETE, ...) and bodies; they may change data",
    )
    run.add_argument(
        "--max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help=f"--url: at most this many requests per run (default {DEFAULT_MAX_REQUESTS})",
    )
    run.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"--url: requests per second, 0 for no limit (default {DEFAULT_RATE:g})",
    )
    run.add_argument("--max-examples", type=int, help="override the profile's examples")
    run.add_argument("--properties", nargs="+", metavar="NAME", help="only these properties")
    run.add_argument(
        "--baseline",
        metavar="FILE",
        help="known divergences (TOML or JSON): reported, but they fail the run only once expired",
    )

    explain = sub.add_parser(
        "explain",
        help="read a request and the server's responses (JSON) on stdin; print "
        "what a browser does and why",
    )
    explain.add_argument("--text", action="store_true", help="readable steps instead of JSON")
    explain.add_argument(
        "--profile",
        choices=["spec", "chromium", "firefox", "webkit"],
        help="browser profile (default: the document's, else spec)",
    )
    explain.add_argument("file", nargs="?", help="read this file instead of stdin")

    lint = sub.add_parser("lint", help="warn about dangerous but valid policies")
    lint.add_argument("policy", help="policy TOML file")

    replay = sub.add_parser(
        "replay",
        help="re-send each divergence's requests from results.json to a target and say "
        "whether it still diverges",
    )
    replay.add_argument("results", help="a run's results.json")
    replay_target = replay.add_mutually_exclusive_group()
    replay_target.add_argument("--app", metavar="MODULE:ATTR", help="in-process ASGI or WSGI app")
    replay_target.add_argument("--url", metavar="URL", help="a server over HTTP")
    replay_target.add_argument(
        "--framework", metavar="NAME", help="a framework built from the policy"
    )
    replay.add_argument(
        "--policy", metavar="FILE", help="judge against this policy (default: the run's)"
    )
    replay.add_argument("--id", nargs="+", default=[], metavar="ID", help="only these records")
    replay.add_argument("--timeout", type=float, default=10.0, help="seconds per request (URL)")

    regression = sub.add_parser(
        "regression",
        help="write a pytest file pinning each divergence of results.json as a regression test",
    )
    regression.add_argument("results", help="a run's results.json")
    regression.add_argument(
        "-o",
        "--output",
        default="test_cors_regressions.py",
        metavar="FILE",
        help="(default: %(default)s)",
    )
    regression.add_argument("--id", nargs="+", default=[], metavar="ID", help="only these records")
    regression.add_argument(
        "--xfail",
        action="store_true",
        help="mark each test xfail(strict=True): green until fixed, then a reminder to unmark",
    )

    baseline = sub.add_parser(
        "baseline", help="write a baseline accepting every divergence of results.json"
    )
    baseline.add_argument("results", help="a run's results.json")
    baseline.add_argument("-o", "--output", metavar="FILE", help="(default: stdout)")
    baseline.add_argument(
        "--reason", default="known; not fixed yet", help="why (default: %(default)r)"
    )
    baseline.add_argument("--expires", metavar="YYYY-MM-DD", help="expiry date of every entry")

    for name, help_text in (
        ("matrix", "run every framework adapter and regenerate reports/matrix/ (see --help)"),
        ("frameworks", "list the framework adapters, or read an app's CORS configuration back"),
    ):
        delegated = sub.add_parser(name, help=help_text, add_help=False)
        delegated.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    report = sub.add_parser("report", help="render every report format again from results.json")
    report.add_argument("results", help="a run's results.json")
    report.add_argument(
        "--report-dir", metavar="DIR", help="where to write (default: results.json's directory)"
    )
    return parser


_DELEGATED = ("matrix", "frameworks")
"""Subcommands with their own parser (``conformance.matrix``, ``conformance.frameworks``): every
argument after the name is theirs, ``--help`` included."""


def _split_delegated(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    for index, arg in enumerate(argv):
        if arg in _DELEGATED:
            return list(argv[: index + 1]), list(argv[index + 1 :])
        if not arg.startswith("-"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    split = _split_delegated(argv)
    if split is not None:
        args = parser.parse_args(split[0])
        args.rest = split[1]
    else:
        args = parser.parse_args(argv)
    from conformance.interrupts import interrupt_on_sigterm

    interrupt_on_sigterm()
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "explain":
            return _explain(args)
        if args.command == "replay":
            return _replay(args)
        if args.command == "regression":
            return _regression(args)
        if args.command == "baseline":
            return _baseline(args)
        if args.command == "report":
            return _report(args)
        if args.command == "matrix":
            from conformance import matrix

            return matrix.main(args.rest, prog="cors-conformance matrix")
        if args.command == "frameworks":
            from conformance import frameworks

            return frameworks.main(args.rest, prog="cors-conformance frameworks")
        return _lint(args)
    except UsageError as exc:
        print(f"cors-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cors-conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"cors-conformance: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _workers(args: argparse.Namespace) -> tuple[int, str]:
    """-n and --parallel: how many workers, and how they start."""
    from conformance.forked import available, worker_count

    try:
        workers = worker_count(str(args.workers))
    except ValueError:
        raise UsageError(f"-n: {args.workers!r} is not a number of workers or 'auto'") from None
    if workers < 0:
        raise UsageError(f"-n: {workers} must be 0 or more")
    parallel = args.parallel or ("fork" if available() else "xdist")
    if parallel == "fork" and not available():
        raise UsageError("--parallel fork: this platform has no os.fork; use --parallel xdist")
    return workers, parallel


def _fork_or_xdist() -> str:
    """Forked workers, unless threads run in this process once the target is loaded (an app
    that starts one when imported): a forked worker would have none of them (the app could
    wait on one forever) and could inherit a lock one of them held. Then xdist's workers,
    which import the app afresh, and a note saying so."""
    from conformance.forked import other_threads

    others = other_threads()
    if not others:
        return "fork"
    print(
        f"cors-conformance: {len(others)} other thread(s) run in this process once the target "
        f"is loaded ({', '.join(others[:3])}); forked workers would not have them, so "
        "-n starts pytest-xdist's workers instead (--parallel fork to fork anyway)",
        file=sys.stderr,
    )
    return "xdist"


def _run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.outcomes import TargetUnreachable
    from conformance.settings import (
        RunOptions,
        build_target,
        effective_paths,
        load_policy_file,
        probe,
    )

    options = RunOptions(
        app=args.app,
        url=args.url,
        framework=args.framework,
        policy_file=args.policy,
        paths=tuple(args.paths or ()),
        profile=args.profile,
        seed=args.seed,
        timeout=args.timeout,
        max_examples=args.max_examples,
        properties=tuple(args.properties or ()),
        time_budget=args.time_budget,
        allow_unsafe=args.allow_unsafe,
        max_requests=args.max_requests,
        rate=args.rate or None,
    )
    options.check()
    workers, parallel = _workers(args)
    # Fail early, before pytest starts: a bad policy, baseline or module path exits 2, an
    # unreachable target 3, each with one clear message.
    if args.baseline:
        from conformance.baseline import load_baseline

        load_baseline(args.baseline)
    policy, _ = load_policy_file(options.policy_file)
    target = build_target(options, policy)
    try:
        probe(target, effective_paths(options)[0])
    except TargetUnreachable as exc:
        print(f"cors-conformance: target unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        target.close()
    if workers and parallel == "fork":
        # The probe's Node.js server (--framework) would be shared by the forked workers, which
        # configure it each with their own policies: each starts its own, as under xdist.
        if "conformance.adapters.node" in sys.modules:
            from conformance.adapters import node

            node.shutdown()
        if args.parallel is None:
            parallel = _fork_or_xdist()
    suite = Path(__file__).with_name("test_suite.py")
    report_dir = Path(args.report_dir)
    results = report_dir / "results.json"
    from reports import FORMATS

    for name in FORMATS:  # never leave a previous run's files beside this run's
        (report_dir / name).unlink(missing_ok=True)
    pytest_args = [
        str(suite),
        "-c",
        str(Path(__file__).with_name("pytest-suite.ini")),
        "--rootdir",
        str(Path.cwd()),
        "-p",
        "conformance.plugin",
        "-q",
        "--no-header",
        "-p",
        "no:cacheprovider",
        "--tb=short" if args.debug else "--tb=no",
        "-rN",
        f"--cors-profile={options.profile}",
        f"--cors-report-dir={report_dir}",
        f"--cors-timeout={options.timeout}",
    ]
    for flag, value in (
        ("--cors-app", options.app),
        ("--cors-url", options.url),
        ("--cors-framework", options.framework),
        ("--cors-policy", options.policy_file),
    ):
        if value:
            pytest_args.append(f"{flag}={value}")
    if options.paths:
        pytest_args.append("--cors-paths=" + ",".join(options.paths))
    if options.properties:
        pytest_args.append("--cors-properties=" + ",".join(options.properties))
    if options.time_budget is not None:
        pytest_args.append(f"--cors-time-budget={options.time_budget}")
    if options.allow_unsafe:
        pytest_args.append("--cors-allow-unsafe")
    if options.url:
        pytest_args.append(f"--cors-max-requests={options.max_requests}")
        pytest_args.append(f"--cors-rate={options.rate or 0}")
    if options.seed is not None:
        pytest_args.append(f"--cors-seed={options.seed}")
    if options.max_examples is not None:
        pytest_args.append(f"--cors-max-examples={options.max_examples}")
    if args.baseline:
        pytest_args.append(f"--cors-baseline={args.baseline}")
    if workers:
        if parallel == "fork":
            pytest_args += ["-p", "conformance.forked", f"--cors-fork-workers={workers}"]
        else:
            pytest_args += ["-p", "xdist.plugin", "-n", str(workers)]
    # Only the plugins the suite uses: a project's other pytest plugins (faker, anyio, ...)
    # cost start-up time in every worker and could change how tests run.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    code = pytest.main(pytest_args)
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if code == pytest.ExitCode.INTERRUPTED and results.exists():
        print(
            f"cors-conformance: interrupted; {results} holds what was found so far",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if not results.exists():
        if code == EXIT_UNREACHABLE:
            return EXIT_UNREACHABLE
        print(
            f"cors-conformance: the suite did not run (pytest exit status {int(code)}, "
            "e.g. a collection error); rerun with --debug to see why",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    document = json.loads(results.read_text(encoding="utf-8"))
    failing = document.get("outcome", {}).get("failing", document["summary"]["divergences"])
    if failing:
        return EXIT_DIVERGENCES
    outcomes = {o["outcome"] for o in document["harness_outcomes"]}
    if "setup-error" in outcomes:
        return EXIT_UNREACHABLE
    if "harness-error" in outcomes or code not in (0, 1):
        return EXIT_INTERNAL
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from reference.explain import ExplainInputError, explain_document, explain_text

    try:
        raw = Path(args.file).read_text(encoding="utf-8") if args.file else sys.stdin.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file!r}: {exc.strerror}") from None
    try:
        document: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"input is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    try:
        out = explain_document(document, profile=args.profile)
    except ExplainInputError as exc:
        raise UsageError(str(exc)) from None
    if args.text:
        sys.stdout.write(explain_text(out))
    else:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return EXIT_OK


def _lint(args: argparse.Namespace) -> int:
    from conformance.settings import load_policy_file
    from reference.policy_lint import lint

    policy, _ = load_policy_file(args.policy)
    warnings = lint(policy)
    for warning in warnings:
        print(f"{args.policy}: {warning.key}: [{warning.code}] {warning.message}")
    if not warnings:
        print(f"{args.policy}: no warnings")
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from conformance.outcomes import TargetUnreachable
    from conformance.replay import load_results, replay_document, replay_targets

    document = load_results(args.results)
    targets = replay_targets(
        document,
        app=args.app,
        url=args.url,
        framework=args.framework,
        policy_file=args.policy,
        timeout=args.timeout,
    )
    try:
        results = replay_document(document, targets, ids=tuple(args.id))
    except TargetUnreachable as exc:
        print(f"cors-conformance: target unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        targets.close()
    for result in results:
        print(result.line())
    counts = {
        status: sum(r.status == status for r in results)
        for status in ("still diverges", "fixed", "cannot replay")
    }
    print(
        f"{len(results)} record(s): "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + f" (against {targets.description})"
    )
    return EXIT_DIVERGENCES if counts["still diverges"] else EXIT_OK


def _regression(args: argparse.Namespace) -> int:
    from conformance.regression import regression_file
    from conformance.replay import load_results

    document = load_results(args.results)
    known = {r["id"] for r in document.get("divergences", [])}
    missing = [i for i in args.id if i not in known]
    if missing:
        raise UsageError(f"--id: no record {', '.join(map(repr, missing))} in {args.results}")
    text = regression_file(document, ids=tuple(args.id), xfail=args.xfail)
    Path(args.output).write_text(text, encoding="utf-8")
    count = len(args.id) if args.id else len(known)
    print(f"{args.output}: {count} regression test(s); point its cors_app fixture at your app")
    return EXIT_OK


def _baseline(args: argparse.Namespace) -> int:
    import datetime as dt

    from conformance.baseline import baseline_toml
    from conformance.replay import load_results

    document = load_results(args.results)
    expires = None
    if args.expires:
        try:
            expires = dt.date.fromisoformat(args.expires)
        except ValueError:
            raise UsageError(f"--expires {args.expires!r}: expected YYYY-MM-DD") from None
    text = baseline_toml(document, reason=args.reason, expires=expires)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{args.output}: {len(document.get('divergences', []))} known divergence(s)")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from conformance.replay import load_results
    from reports import render_all

    document = load_results(args.results)
    report_dir = Path(args.report_dir) if args.report_dir else Path(args.results).parent
    report_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_all(document).items():
        path = report_dir / name
        if path.resolve() == Path(args.results).resolve():
            continue  # never rewrite the input
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        print(path)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
