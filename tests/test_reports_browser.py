"""The HTML report as a person sees it: rendered by headless Chromium (Debian's ``chromium``
package; ``.ci/run`` installs it), with no network, and checked through the DOM it builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports import render_html

GOLDEN = Path(__file__).parent / "golden"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser


def dump_dom(page: Path) -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Visible(HTMLParser):
    """The DOM's text, and its elements by tag."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del attrs
        self.tags.append(tag)
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def test_chromium_shows_every_divergence_and_runs_nothing(tmp_path: Path) -> None:
    document = json.loads((GOLDEN / "results.json").read_text(encoding="utf-8"))
    page = tmp_path / "report.html"
    page.write_text(render_html(document), encoding="utf-8")
    dom = Visible()
    dom.feed(dump_dom(page))
    text = "".join(dom.text)
    # Nothing from the run became markup: the hostile header value is text, no script exists.
    assert "script" not in dom.tags
    assert "img" not in dom.tags
    assert "<script>alert(1)</script>" in text
    assert "nul\\x00 bel\\x07 c1\\x85" in text
    # The headline, and every divergence with what reproduces it.
    assert "7 divergences fail the run" in text
    for record in document["divergences"]:
        assert record["id"] in text
        assert record["title"] in text
        for exchange in record["exchanges"]:
            for step in exchange["steps"]:
                assert step["curl"] in text
            if exchange.get("fetch"):
                assert exchange["fetch"].splitlines()[1] in text
        for step in record["browser_steps"]:
            assert step.rsplit(" [", 1)[0] in text
    assert "Starlette refuses non-standard methods" in text  # a baseline's reason
    assert "stale" in text
