"""Resolve the run's settings (target, policy, paths) from options: shared by the pytest plugin
and the command line, so `pytest conformance` and `cors-conformance run` do the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.outcomes import SetupError, TargetUnreachable, UsageError
from conformance.targets import Target, UrlTarget, load_app, target_for_app
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
        return UrlTarget(options.url, timeout=options.timeout)
    if options.app:
        return target_for_app(load_app(options.app), name=options.app)
    if options.framework:
        from conformance import frameworks

        return frameworks.build(options.framework, policy)
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
