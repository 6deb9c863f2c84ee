"""Headless Chromium (Debian's package), driven by Playwright, runs ``fetch()`` for many cases.

One persistent profile (a temporary directory: cookies need a real profile) and one page on the
page origin. :meth:`ChromiumDriver.run_jobs` hands the page a batch of jobs and lets it run them
with a bounded number in flight; each job is a single fetch or a timed sequence of fetches.
Every fetch has an ``AbortController`` timeout, so a batch always ends.

Chromium fails fetches with ``net::ERR_INSUFFICIENT_RESOURCES`` when too many are in flight;
script sees the same ``TypeError`` as for a CORS failure. Playwright's ``requestfailed`` event
tells them apart: :attr:`ChromiumDriver.failures` keeps the network error text per URL, and the
runner retries such jobs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
INSUFFICIENT_RESOURCES: Final = "net::ERR_INSUFFICIENT_RESOURCES"

_JS_RUN: Final = """
async ([jobs, concurrency, timeoutMs, batchMs]) => {
  function byXhr(f) {
    // XMLHttpRequest: upload listeners (before open()) set the use-CORS-preflight flag;
    // setRequestHeader combines a repeated name; the body goes as bytes (no Content-Type).
    return new Promise(resolve => {
      const failed = (error, aborted) => resolve(
        {ok: false, status: null, type: null, names: null, error, aborted});
      try {
        const xhr = new XMLHttpRequest();
        if (f.flag) xhr.upload.onprogress = () => {};
        xhr.open(f.method, f.url);
        xhr.withCredentials = f.credentials === "include";
        for (const [n, v] of f.headers) xhr.setRequestHeader(n, v);
        xhr.timeout = timeoutMs;
        xhr.onload = () => {
          const names = xhr.getAllResponseHeaders().split("\\r\\n").filter(l => l)
            .map(l => l.slice(0, l.indexOf(":")).trim().toLowerCase());
          resolve({ok: true, status: xhr.status, type: "xhr", names, error: null,
                   aborted: false});
        };
        xhr.onerror = () => failed("XMLHttpRequest: network error", false);
        xhr.ontimeout = () => failed("XMLHttpRequest: timeout", true);
        xhr.send(f.body === null ? null : Uint8Array.from(f.body, c => c.charCodeAt(0)));
      } catch (e) {
        failed(String(e && e.name) + ": " + String(e && e.message), false);
      }
    });
  }
  async function one(f) {
    if (f.xhr) return await byXhr(f);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      const headers = new Headers();
      for (const [n, v] of f.headers) headers.append(n, v);
      const init = {method: f.method, headers, credentials: f.credentials, mode: f.mode,
                    signal: ctl.signal};
      if (f.body !== null) init.body = f.body;
      const r = await fetch(f.url, init);
      const names = [...r.headers.keys()];
      try { await r.arrayBuffer(); } catch (e) {}
      return {ok: true, status: r.status, type: r.type, names, error: null, aborted: false};
    } catch (e) {
      return {ok: false, status: null, type: null, names: null,
              error: String(e && e.name) + ": " + String(e && e.message),
              aborted: ctl.signal.aborted};
    } finally {
      clearTimeout(timer);
    }
  }
  async function sequence(job) {
    const start = performance.now();
    const out = [];
    for (let i = 0; i < job.steps.length; i++) {
      const step = job.steps[i];
      const wait = start + step.at * 1000 - performance.now();
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait));
      await fetch(job.stepUrl + "/" + i, {cache: "no-store"});
      out.push(await one(step));
    }
    return out;
  }
  const results = {};
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const job = jobs[next++];
      results[job.key] = job.steps ? await sequence(job) : [await one(job)];
    }
  }
  const workers = Promise.all(Array.from({length: Math.min(concurrency, jobs.length)}, worker));
  // Every fetch has its own timeout; the batch has one too, so evaluate() always returns.
  await Promise.race([workers, new Promise(resolve => setTimeout(resolve, batchMs))]);
  return results;
}
"""

_CORS_MESSAGE: Final = re.compile(r"Access to fetch at '([^']+)'")


def chromium_available(path: str = CHROMIUM) -> bool:
    return Path(path).exists()


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def chromium_version(path: str = CHROMIUM) -> str:
    """``chromium --version``, e.g. ``Chromium 156.0.8078.108 built on Debian ...``."""
    found = shutil.which(path) or path
    done = subprocess.run(
        [found, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout.strip()


class ChromiumDriver:
    """Use as a context manager: ``with ChromiumDriver(page_url, cookie) as driver: ...``."""

    def __init__(
        self,
        page_url: str,
        *,
        cookie: tuple[str, str, str] | None = None,
        executable: str = CHROMIUM,
        fetch_timeout_ms: int = 15_000,
        batch_timeout_ms: int = 240_000,
    ) -> None:
        self.page_url = page_url
        self.cookie = cookie  # (name, value, domain)
        self.executable = executable
        self.fetch_timeout_ms = fetch_timeout_ms
        self.batch_timeout_ms = batch_timeout_ms
        self.failures: defaultdict[str, list[str]] = defaultdict(list)
        self.console: defaultdict[str, list[str]] = defaultdict(list)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._playwright: Any = None
        self._context: Any = None
        self._page: Any = None
        self.browser_version = ""

    def __enter__(self) -> ChromiumDriver:
        from playwright.sync_api import sync_playwright

        self._tmp = tempfile.TemporaryDirectory(prefix="cors-browser-check-")
        self._playwright = sync_playwright().start()
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                self._tmp.name,
                executable_path=self.executable,
                headless=True,
                args=list(CHROMIUM_ARGS),
                timeout=60_000,
            )
            if self.cookie is not None:
                name, value, domain = self.cookie
                self._context.add_cookies(
                    [
                        {
                            "name": name,
                            "value": value,
                            "domain": domain,
                            "path": "/",
                            "secure": True,
                            "sameSite": "None",
                        }
                    ]
                )
            browser = self._context.browser
            self.browser_version = browser.version if browser is not None else ""
            self._page = self._context.new_page()
            self._page.on("requestfailed", self._on_failed)
            self._page.on("console", self._on_console)
            self._page.goto(self.page_url, timeout=30_000)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _on_failed(self, request: Any) -> None:
        self.failures[request.url].append(str(request.failure))

    def _on_console(self, message: Any) -> None:
        text = str(message.text)
        found = _CORS_MESSAGE.search(text)
        if found is not None:
            self.console[found[1]].append(text)

    def run_script(self, script: str, *, timeout_ms: int = 15_000) -> list[str]:
        """Run a report's script for the browser console (``conformance.records.fetch_call``)
        in the page, as pasted into the console; returns what it logs first (it logs once, when
        its request has ended), or ``["timeout"]``."""
        wrapped = (
            "() => new Promise(resolve => {\n"
            "const log = console.log;\n"
            f"const timer = setTimeout(() => {{ console.log = log; resolve(['timeout']); }}, "
            f"{timeout_ms});\n"
            "console.log = (...args) => {\n"
            "  console.log = log; clearTimeout(timer); resolve(args.map(String));\n"
            "};\n"
            f"{script}\n"
            "})"
        )
        return [str(item) for item in self._page.evaluate(wrapped)]

    def run_jobs(self, jobs: list[dict[str, Any]], *, concurrency: int) -> dict[str, Any]:
        """Run ``jobs`` in the page; returns results by job key (a list: one result per fetch).
        A job missing from the result did not finish within the batch timeout."""
        if not jobs:
            return {}
        result: dict[str, Any] = self._page.evaluate(
            _JS_RUN, [jobs, concurrency, self.fetch_timeout_ms, self.batch_timeout_ms]
        )
        return result
