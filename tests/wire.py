"""Requests the adapter tests send by hand: a preflight, answered as status and headers."""

from __future__ import annotations

from conformance.targets import Target
from reference.verdict import WireRequest


def preflight(
    target: Target, path: str, origin: str, method: str, headers: str = ""
) -> tuple[int, dict[bytes, bytes]]:
    """Send the preflight a browser sends for ``method`` (and the request headers ``headers``,
    comma-joined) from ``origin`` to ``path``; the status and the headers by lowercased name."""
    request_headers = [
        (b"Origin", origin.encode()),
        (b"Access-Control-Request-Method", method.encode()),
    ]
    if headers:
        request_headers.append((b"Access-Control-Request-Headers", headers.encode()))
    wire = WireRequest(
        is_preflight=True,
        method=b"OPTIONS",
        url=target.base_url + path,
        headers=tuple(request_headers),
        credentials=False,
    )
    response = target.send(wire)
    return response.status, {name.lower(): value for name, value in response.headers}
