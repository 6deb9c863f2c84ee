"""The reproduction snippets of a report (``conformance.records``): what each shape of request
gives, and that every script is JavaScript that parses (``node --check``, where Node.js is
installed). ``tests/test_records_browser.py`` runs them in Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.records import curl_command, fetch_call
from reference.origins import origin_of
from reference.request import (
    BrowserRequest,
    CredentialsMode,
    HeadersApi,
    RedirectMode,
    RequestMode,
)
from reference.verdict import WireRequest

ORIGIN = origin_of("https://app.example")
URL = "http://api.example/items"


def _request(**fields: object) -> BrowserRequest:
    return BrowserRequest(origin=ORIGIN, url=URL, **fields)  # type: ignore[arg-type]


def test_a_plain_get_is_a_bare_fetch() -> None:
    assert fetch_call(_request()).splitlines() == [
        "// in the console of a page on https://app.example",
        'fetch("http://api.example/items")',
        "  .then(r => console.log(r.status, [...r.headers]))",
        "  .catch(e => console.log('blocked:', e))",
    ]


def test_a_body_is_bytes_so_no_content_type_is_added() -> None:
    # A string body would make the browser add `Content-Type: text/plain;charset=UTF-8`.
    ascii_body = fetch_call(_request(method="POST", body=b"a=1"))
    assert 'body: new TextEncoder().encode("a=1")' in ascii_body
    other = fetch_call(_request(method="POST", body=b"a\xff"))
    assert "body: new Uint8Array([97, 255])" in other


def test_every_init_member_the_request_sets() -> None:
    script = fetch_call(
        _request(
            method="PUT",
            headers=((b"X-A", b"1"), (b"x-a", b"2")),
            credentials=CredentialsMode.OMIT,
            mode=RequestMode.NO_CORS,
            redirect=RedirectMode.MANUAL,
        )
    )
    assert (
        'fetch("http://api.example/items", {method: "PUT", headers: [["X-A", "1"], ["x-a", "2"]], '
        'credentials: "omit", mode: "no-cors", redirect: "manual"})'
    ) in script


def test_the_use_cors_preflight_flag_is_xhr_upload_listeners() -> None:
    lines = fetch_call(
        _request(
            method="POST",
            body=b"x",
            use_cors_preflight=True,
            credentials=CredentialsMode.INCLUDE,
            headers=((b"X-A", b"1"),),
        )
    ).splitlines()
    body = [line.strip() for line in lines[1:]]
    assert body[0] == "{"
    assert body[1] == "const xhr = new XMLHttpRequest();"
    # Before open(): some browsers miss upload listeners added after it.
    assert body[2].startswith("xhr.upload.onprogress = () => {};")
    assert body[3] == 'xhr.open("POST", "http://api.example/items");'
    assert 'xhr.setRequestHeader("X-A", "1");' in body
    assert "xhr.withCredentials = true;" in body
    assert body[-2] == 'xhr.send(new TextEncoder().encode("x"));'
    assert body[-1] == "}"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"credentials": CredentialsMode.OMIT}, 'no credentials mode "omit"'),
        ({"headers": ((b"X-A", b"1"), (b"X-a", b"2"))}, "combines a repeated header name"),
        ({"redirect": RedirectMode.ERROR}, 'no redirect mode "error"'),
    ],
)
def test_what_xhr_cannot_make_takes_a_stream_body(fields: dict[str, object], reason: str) -> None:
    script = fetch_call(_request(method="POST", body=b"x", use_cors_preflight=True, **fields))
    code = [line for line in script.splitlines() if not line.startswith("//")]
    assert not any("xhr" in line for line in code)
    assert 'duplex: "half"' in script
    assert "new ReadableStream" in script
    comments = " ".join(line[3:] for line in script.splitlines() if line.startswith("// "))
    assert reason in comments
    assert "only over HTTP/2" in comments


def test_setrequestheader_requests_are_xhr_and_say_what_xhr_cannot_do() -> None:
    script = fetch_call(
        _request(headers=((b"X-A", b"1"), (b"X-A", b"2")), headers_api=HeadersApi.XHR)
    )
    assert 'xhr.setRequestHeader("X-A", "1");' in script
    assert 'xhr.setRequestHeader("X-A", "2");' in script
    assert "xhr.upload" not in script  # no flag, no listener
    omitted = fetch_call(_request(headers_api=HeadersApi.XHR, credentials=CredentialsMode.OMIT))
    assert "XMLHttpRequest cannot make exactly this request" in omitted


def test_what_script_cannot_set_up_is_said() -> None:
    cookie = fetch_call(
        _request(credentials=CredentialsMode.INCLUDE, cookie=b"session=1", private_network=True)
    )
    assert "holds a cookie for this URL, session=1" in cookie
    assert "more private network" in cookie
    no_cookie = fetch_call(_request(credentials=CredentialsMode.OMIT, cookie=b"session=1"))
    assert "cookie" not in no_cookie  # not sent without credentials "include"
    browser_made = fetch_call(_request(unsafe_request=False))
    assert "the browser makes this request itself" in browser_made
    flag_alone = fetch_call(_request(use_cors_preflight=True))
    assert "without a body" in flag_alone
    assert "xhr" not in flag_alone


def test_comment_lines_stay_short() -> None:
    script = fetch_call(_request(unsafe_request=False, private_network=True))
    assert all(len(line) <= 100 for line in script.splitlines() if line.startswith("//"))


def test_curl_puts_exactly_the_header_lines_on_the_wire() -> None:
    wire = WireRequest(
        method=b"PUT",
        url=URL,
        headers=((b"Origin", b"https://app.example"), (b"X-A", b"\x01")),
        body=b"it's",
        is_preflight=False,
        credentials=False,
    )
    assert curl_command(wire) == (
        "curl -i -sS -X PUT -H User-Agent: -H Accept: -H 'Origin: https://app.example' "
        "-H $'X-A: \\x01' --data-binary 'it'\"'\"'s' http://api.example/items"
    )


_names = st.sampled_from([b"X-A", b"x-a", b"Content-Type", b"Accept", b"X-\xe9"])
_values = st.binary(max_size=6)
_requests = st.builds(
    _request,
    method=st.sampled_from(["GET", "POST", "PUT", "patch", 'QU"ERY']),
    headers=st.lists(st.tuples(_names, _values), max_size=3).map(tuple),
    credentials=st.sampled_from(CredentialsMode),
    mode=st.sampled_from(RequestMode),
    redirect=st.sampled_from(RedirectMode),
    headers_api=st.sampled_from(HeadersApi),
    body=st.none() | st.binary(max_size=8),
    use_cors_preflight=st.booleans(),
    unsafe_request=st.booleans(),
    cookie=st.none() | st.just(b"s=1"),
    private_network=st.booleans(),
)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
@settings(max_examples=60, deadline=None)
@given(st.lists(_requests, min_size=1, max_size=8))
def test_every_script_parses_as_javascript(
    tmp_path_factory: pytest.TempPathFactory, requests: list[BrowserRequest]
) -> None:
    path = Path(tmp_path_factory.mktemp("scripts")) / "scripts.js"
    # One block per script: each declares its own names, as in a console.
    path.write_text("\n".join("{\n" + fetch_call(r) + "\n}" for r in requests), encoding="utf-8")
    done = subprocess.run(
        ["node", "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr + path.read_text(encoding="utf-8")
