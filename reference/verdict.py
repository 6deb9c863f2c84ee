"""Verdicts are values: what the browser did, and why, step by step.

``Allowed`` and ``Blocked`` are the two outcomes of a fetch as script sees it. ``Blocked``
carries a reason from a closed enum named like Chromium's ``network::mojom::CorsError``
(the names DevTools shows), the parameter that failed, and the spec anchor of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from reference import anchors
from reference.headers import HeaderList


class BlockedReason(StrEnum):
    # Request-side refusals (before anything is sent).
    DISALLOWED_BY_MODE = "DISALLOWED_BY_MODE"
    CORS_DISABLED_SCHEME = "CORS_DISABLED_SCHEME"
    INVALID_REQUEST = "INVALID_REQUEST"
    # The CORS check on an actual (or redirect) response.
    MISSING_ALLOW_ORIGIN_HEADER = "MISSING_ALLOW_ORIGIN_HEADER"
    MULTIPLE_ALLOW_ORIGIN_VALUES = "MULTIPLE_ALLOW_ORIGIN_VALUES"
    INVALID_ALLOW_ORIGIN_VALUE = "INVALID_ALLOW_ORIGIN_VALUE"
    ALLOW_ORIGIN_MISMATCH = "ALLOW_ORIGIN_MISMATCH"
    WILDCARD_ORIGIN_NOT_ALLOWED = "WILDCARD_ORIGIN_NOT_ALLOWED"
    INVALID_ALLOW_CREDENTIALS = "INVALID_ALLOW_CREDENTIALS"
    # The preflight.
    PREFLIGHT_INVALID_STATUS = "PREFLIGHT_INVALID_STATUS"
    PREFLIGHT_DISALLOWED_REDIRECT = "PREFLIGHT_DISALLOWED_REDIRECT"
    PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER = "PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER"
    PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES = "PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES"
    PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE = "PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE"
    PREFLIGHT_ALLOW_ORIGIN_MISMATCH = "PREFLIGHT_ALLOW_ORIGIN_MISMATCH"
    PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED = "PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED"
    PREFLIGHT_INVALID_ALLOW_CREDENTIALS = "PREFLIGHT_INVALID_ALLOW_CREDENTIALS"
    INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE = "INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE"
    INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE = "INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE"
    METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE = "METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE"
    HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE = "HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE"
    PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK = "PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK"
    PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK = "PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK"
    # Redirects.
    REDIRECT_CONTAINS_CREDENTIALS = "REDIRECT_CONTAINS_CREDENTIALS"
    REDIRECT_MODE_ERROR = "REDIRECT_MODE_ERROR"
    INVALID_REDIRECT = "INVALID_REDIRECT"
    TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS"

    @property
    def spec_ref(self) -> str:
        return _REASON_ANCHORS[self]

    @property
    def is_preflight(self) -> bool:
        return self.name.startswith("PREFLIGHT_") or "PREFLIGHT_RESPONSE" in self.name


_REASON_ANCHORS: dict[BlockedReason, str] = {
    BlockedReason.DISALLOWED_BY_MODE: anchors.MAIN_FETCH,
    BlockedReason.CORS_DISABLED_SCHEME: anchors.MAIN_FETCH,
    BlockedReason.INVALID_REQUEST: anchors.FORBIDDEN_METHOD,
    BlockedReason.MISSING_ALLOW_ORIGIN_HEADER: anchors.CORS_CHECK,
    BlockedReason.MULTIPLE_ALLOW_ORIGIN_VALUES: anchors.CORS_CHECK,
    BlockedReason.INVALID_ALLOW_ORIGIN_VALUE: anchors.CORS_CHECK,
    BlockedReason.ALLOW_ORIGIN_MISMATCH: anchors.CORS_CHECK,
    BlockedReason.WILDCARD_ORIGIN_NOT_ALLOWED: anchors.CORS_CHECK,
    BlockedReason.INVALID_ALLOW_CREDENTIALS: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_INVALID_STATUS: anchors.OK_STATUS,
    BlockedReason.PREFLIGHT_DISALLOWED_REDIRECT: anchors.CORS_PREFLIGHT_FETCH,
    BlockedReason.PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_ALLOW_ORIGIN_MISMATCH: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED: anchors.CORS_CHECK,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_CREDENTIALS: anchors.CORS_CHECK,
    BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE: anchors.EXTRACT_HEADER_LIST_VALUES,
    BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE: anchors.EXTRACT_HEADER_LIST_VALUES,
    BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE: anchors.CORS_PREFLIGHT_FETCH,
    BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE: anchors.CORS_PREFLIGHT_FETCH,
    BlockedReason.PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK: anchors.PNA_PREFLIGHT,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK: anchors.PNA_PREFLIGHT,
    BlockedReason.REDIRECT_CONTAINS_CREDENTIALS: anchors.HTTP_REDIRECT_FETCH,
    BlockedReason.REDIRECT_MODE_ERROR: anchors.HTTP_FETCH,
    BlockedReason.INVALID_REDIRECT: anchors.HTTP_REDIRECT_FETCH,
    BlockedReason.TOO_MANY_REDIRECTS: anchors.HTTP_REDIRECT_FETCH,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One decision the model took, with the rule that decided it."""

    text: str
    spec_ref: str


# The values a fetch makes or takes on every case (wire requests, responses, verdicts) are
# named tuples: as immutable and comparable as frozen dataclasses, and three times cheaper to
# build, which is a fifth of a verdict's cost (see benchmarks/model.py).


class WireRequest(NamedTuple):
    """A request exactly as the browser puts it on the wire (before the network layer adds
    ``Host``, ``User-Agent``, ``Accept-Encoding``, ``Sec-Fetch-*``, which CORS does not depend on).
    """

    is_preflight: bool
    method: bytes
    url: str
    headers: HeaderList
    credentials: bool  # cookies / HTTP auth attached
    body: bytes | None = None


class RawResponse(NamedTuple):
    """A response as received: status and header lines in order, duplicates kept, values as
    they came (the model strips OWS itself)."""

    status: int
    headers: HeaderList


class Allowed(NamedTuple):
    status: int
    visible_header_names: tuple[bytes, ...]  # lowercased names script can read
    preflighted: bool
    response_type: str  # "cors", "basic" or "opaque"
    wire: tuple[WireRequest, ...]
    steps: tuple[Step, ...]
    profile: str

    @property
    def allowed(self) -> bool:
        return True


class Blocked(NamedTuple):
    reason: BlockedReason
    failed_parameter: bytes | None  # the offending header value, method or name, if any
    preflighted: bool
    wire: tuple[WireRequest, ...]
    steps: tuple[Step, ...]
    profile: str

    @property
    def allowed(self) -> bool:
        return False

    @property
    def spec_ref(self) -> str:
        return self.reason.spec_ref


Verdict = Allowed | Blocked
