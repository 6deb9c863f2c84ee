"""Framework adapters: build a framework's app from a policy (issue: real frameworks).

Only Starlette is wired in so far; the other frameworks named in the README are not yet done.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.outcomes import UsageError
from conformance.targets import Target, target_for_app
from reference.policy import CorsPolicy


def _starlette(policy: CorsPolicy) -> Target:
    from conformance.adapters.starlette import build_app

    return target_for_app(build_app(policy), name="starlette")


FRAMEWORKS: dict[str, Callable[[CorsPolicy], Target]] = {"starlette": _starlette}


def build(name: str, policy: CorsPolicy) -> Target:
    try:
        factory = FRAMEWORKS[name]
    except KeyError:
        known = ", ".join(sorted(FRAMEWORKS))
        raise UsageError(f"--framework {name!r}: unknown (available: {known})") from None
    return factory(policy)
