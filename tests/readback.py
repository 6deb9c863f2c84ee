"""The round-trip proof for ``read_policy``: configure a framework from a generated policy, read the
configuration back, and check that the policy read back *means* the same as the one it came from
(:func:`reference.policy_eval.intended_verdict` agrees on generated browser requests).

Equality of policies is too strict a test (a read-back policy may list the safelisted methods,
spell an origin pattern differently, or turn a prefix table into a pattern table); meaning is what
a team relies on when it points the suite at its app without writing a policy file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from conformance.adapters import Inexpressible
from conformance.adapters._common import DEMO_HEADER_NAMES
from conformance.frameworks import adapter, read_policy, supports_paths
from conformance.settings import DEFAULT_PATHS
from reference.policy import CorsPolicy
from reference.policy_eval import Intended, intended_verdict
from reference.policy_file import dump_policy
from reference.request import BrowserRequest
from strategies import cors_requests, policies

REQUESTS_PER_POLICY = 12
_DEMO = frozenset(name.lower().encode("ascii") for name in DEMO_HEADER_NAMES)


def meaning(intended: Intended) -> tuple[object, ...]:
    """What a policy decides for a request, without how it says it (rule names, steps). Exposed
    headers count only among those the demo application sends: the adapters spell ``*`` under
    credentials as that list."""
    exposed = _DEMO if intended.exposed is None else intended.exposed & _DEMO
    return (
        intended.allowed,
        intended.origin_allowed,
        intended.method_allowed,
        intended.headers_allowed,
        intended.credentials_allowed,
        intended.disallowed_headers,
        exposed if intended.allowed else None,
        intended.max_age if intended.allowed else None,
        intended.allow_private_network if intended.allowed else None,
    )


def assert_same_meaning(
    original: CorsPolicy, read_back: CorsPolicy, requests: list[BrowserRequest]
) -> None:
    for request in requests:
        want = meaning(intended_verdict(original, request))
        got = meaning(intended_verdict(read_back, request))
        assert got == want, (
            f"{request.method} {request.url} from {request.origin.serialize()}:\n"
            f"original policy:\n{dump_policy(original)}\nread back:\n{dump_policy(read_back)}\n"
            f"original decides {want}\nread back decides {got}"
        )


def check_round_trip(
    name: str,
    source_of: Callable[[CorsPolicy], Any],
    *,
    max_examples: int = 60,
    fixed: Callable[[CorsPolicy], CorsPolicy] = lambda policy: policy,
) -> None:
    """For policies framework ``name`` can express: ``source_of(policy)`` is what its
    ``read_policy`` reads (an app configured from the policy, its settings, its options), and
    the policy read back must mean the same on generated requests to :data:`DEFAULT_PATHS`.

    ``fixed`` sets what the framework does not let one choose (Falcon always sends one
    max-age), so that the generated policies are not nearly all refused for it."""
    module = adapter(name)

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
        database=None,
    )
    @given(policies(allow_paths=supports_paths(module)), st.data())
    def run(generated: CorsPolicy, data: st.DataObject) -> None:
        policy = fixed(generated)
        try:
            module.configuration(policy)
        except Inexpressible:
            reject()
        back = read_policy(name, source_of(policy))
        strategy = cors_requests(policy=policy, paths=DEFAULT_PATHS)
        requests = [data.draw(strategy) for _ in range(REQUESTS_PER_POLICY)]
        assert_same_meaning(policy, back, requests)

    run()
