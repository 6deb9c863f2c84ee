"""Framework adapters: translate a ``CorsPolicy`` into a framework's own CORS configuration.

Each adapter says precisely which policies it cannot express (:class:`Inexpressible`); the
suite skips those instead of failing them.
"""

from __future__ import annotations


class Inexpressible(Exception):
    """The framework has no configuration for this policy; the message says which key."""
