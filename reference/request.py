"""The request a page makes, as the model takes it (digest §1).

``BrowserRequest`` is what script asked for (``fetch(url, {method, headers, credentials})``);
the model derives from it what actually goes on the wire (:mod:`reference.browser`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from reference.headers import HeaderList
from reference.origins import _TUPLE_SCHEMES, Origin, ParsedURL, _parse_url


class CredentialsMode(StrEnum):
    # https://fetch.spec.whatwg.org/#concept-request-credentials-mode
    OMIT = "omit"
    SAME_ORIGIN = "same-origin"
    INCLUDE = "include"


class RequestMode(StrEnum):
    # https://fetch.spec.whatwg.org/#concept-request-mode
    CORS = "cors"
    NO_CORS = "no-cors"
    SAME_ORIGIN = "same-origin"


class RedirectMode(StrEnum):
    FOLLOW = "follow"
    ERROR = "error"
    MANUAL = "manual"


class HeadersApi(StrEnum):
    """How script set the headers: ``fetch``'s Headers keeps duplicate entries; XHR's
    ``setRequestHeader`` combines a repeated name into one ``a, b`` value."""

    FETCH = "fetch"
    XHR = "xhr"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserRequest:
    """A request as script makes it.

    ``headers`` are the author headers as script set them, in order (before the browser drops
    forbidden ones). ``cookie`` says whether the browser holds a cookie for the target that it
    would attach when credentials are included; ``authorization`` likewise for HTTP auth it holds
    (script-set ``Authorization`` goes in ``headers``).
    """

    origin: Origin
    url: str
    method: str = "GET"
    headers: HeaderList = ()
    credentials: CredentialsMode = CredentialsMode.SAME_ORIGIN
    mode: RequestMode = RequestMode.CORS
    redirect: RedirectMode = RedirectMode.FOLLOW
    headers_api: HeadersApi = HeadersApi.FETCH
    body: bytes | None = None
    use_cors_preflight: bool = False  # stream body, or XHR upload listeners before send()
    unsafe_request: bool = True  # fetch() and XHR; False for UA-initiated fetches
    cookie: bytes | None = None
    private_network: bool = False  # Chromium legacy PNA: target is in a more private space
    parsed_url: ParsedURL = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # parse_url inlined (its memo, then a fresh opaque origin where the URL has one): every
        # request a run draws or derives (dataclasses.replace) comes through here.
        parsed = _parse_url(self.url, None)
        if parsed.scheme not in _TUPLE_SCHEMES:
            parsed = replace(parsed)
        object.__setattr__(self, "parsed_url", parsed)
