"""Framework adapters: translate a ``CorsPolicy`` into a framework's own CORS configuration.

One module per framework (``conformance/adapters/<name>.py``), each exposing:

* ``NAME``: the name ``--framework`` takes;
* ``package_version() -> str``: the installed version of the CORS package under test;
* ``configuration(policy)``: the framework's own configuration for ``policy`` (keyword
  arguments, settings, a JSON document for a Node.js server), raising :class:`Inexpressible`
  when no configuration of the framework means the policy;
* ``build_target(policy) -> Target``: the app behind that configuration, ready for requests;
* optionally ``read_policy(...) -> CorsPolicy``: the other direction, an existing app's CORS
  configuration read into a policy.

A framework that *can* be configured to mean a policy but then behaves differently has a
divergence; :class:`Inexpressible` is only for a policy that no configuration expresses. The suite
skips those (and counts them by key) instead of failing them.
"""

from __future__ import annotations


class Inexpressible(Exception):
    """The framework has no configuration for this policy; the message starts with the policy key
    (``"allow_origin_patterns: flask-cors ..."``), which :attr:`key` gives alone."""

    @property
    def key(self) -> str:
        return str(self).split(":", 1)[0]
