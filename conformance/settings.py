"""Resolve the run's settings (target, policy, paths) from options: shared by the pytest plugin
and the command line, so `pytest conformance` and `cors-conformance run` do the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.outcomes import SetupError, TargetUnreachable, UsageError
from conformance.targets import (
    DEFAULT_MAX_REQUESTS,
    DEFAULT_RATE,
    Target,
    UrlTarget,
    load_app,
    target_for_app,
)
from reference.policy import CorsPolicy
from reference.policy_file import PolicyError, load_policy
from reference.verdict import WireRequest

DEFAULT_POLICY_FILE = Path(__file__).parent / "policies" / "default.toml"
DEFAULT_PATHS = ("/", "/api/items", "/public/data", "/internal/status", "/api/missing")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    app: str | None = None
    url: str | None = None
    framework: str | None = None
    policy_file: str | None = None
    paths: tuple[str, ...] = ()
    profile: str = "dev"
    seed: int | None = None
    timeout: float = 10.0
    max_examples: int | None = None
    properties: tuple[str, ...] = ()
    time_budget: float | None = None  # seconds for the whole run
    allow_unsafe: bool = False  # --url: send unsafe methods and bodies too
    max_requests: int | None = DEFAULT_MAX_REQUESTS  # --url: per run (each process)
    rate: float | None = DEFAULT_RATE  # --url: requests per second; None: no limit

    def check(self) -> None:
        chosen = [
            name
            for name, value in (
                ("--app", self.app),
                ("--url", self.url),
                ("--framework", self.framework),
            )
            if value
        ]
        if len(chosen) > 1:
            raise UsageError(f"choose one target: {' and '.join(chosen)} given together")
        for path in self.paths:
            if not path.startswith("/"):
                raise UsageError(f"--paths: {path!r} must start with '/'")
        if self.timeout <= 0:
            raise UsageError(f"--timeout: {self.timeout} must be positive")
        if self.time_budget is not None and self.time_budget <= 0:
            raise UsageError(f"--time-budget: {self.time_budget} must be positive")
        if self.max_requests is not None and self.max_requests < 1:
            raise UsageError(f"--max-requests: {self.max_requests} must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise UsageError(f"--rate: {self.rate} must be positive (0 on the command line: none)")
        url_only = (
            ("--allow-unsafe", self.allow_unsafe),
            ("--max-requests", self.max_requests != DEFAULT_MAX_REQUESTS),
            ("--rate", self.rate != DEFAULT_RATE),
        )
        for flag, given in url_only:
            if given and not self.url:
                raise UsageError(f"{flag} applies to --url targets only")

    @property
    def target_description(self) -> str:
        if self.app:
            return f"app {self.app}"
        if self.url:
            return f"url {self.url}"
        if self.framework:
            return f"framework {self.framework}"
        return "bundled reference server"


def load_policy_file(path: str | None) -> tuple[CorsPolicy, str]:
    file = Path(path) if path else DEFAULT_POLICY_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--policy {str(file)!r}: cannot read: {exc.strerror}") from None
    try:
        return load_policy(text, source=file.name), text
    except PolicyError as exc:
        raise UsageError(f"--policy: {exc}") from None


def build_target(options: RunOptions, policy: CorsPolicy) -> Target:
    if options.url:
        return UrlTarget(
            options.url,
            timeout=options.timeout,
            max_requests=options.max_requests,
            rate=options.rate,
            allow_unsafe=options.allow_unsafe,
        )
    if options.app:
        return target_for_app(load_app(options.app), name=options.app)
    if options.framework:
        from conformance import frameworks

        return frameworks.build(options.framework, policy, explicit=bool(options.policy_file))
    from conformance.servers.reference import asgi_app

    return target_for_app(asgi_app(policy), name="reference server")


def effective_paths(options: RunOptions) -> tuple[str, ...]:
    if options.paths:
        return options.paths
    if options.app or options.url:
        return ("/",)
    return DEFAULT_PATHS


def probe(target: Target, path: str) -> None:
    """One plain GET: raises ``TargetUnreachable`` if the target cannot be reached at all."""
    wire = WireRequest(
        is_preflight=False,
        method=b"GET",
        url=target.base_url + path,
        headers=((b"Accept", b"*/*"),),
        credentials=False,
    )
    try:
        target.send(wire)
    except TargetUnreachable:
        raise
    except SetupError:
        pass  # reachable but unhappy: the properties will say more
