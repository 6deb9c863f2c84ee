"""``read_policy`` round trips (item 3 of the frameworks issue): a framework configured from a
generated policy reads back into a policy that means the same (:mod:`tests.readback`)."""

from __future__ import annotations

from typing import Any

from conformance.adapters import django_cors_headers, flask_cors, starlette
from reference.policy import CorsPolicy
from tests.readback import check_round_trip


def test_starlette_round_trip() -> None:
    def app(policy: CorsPolicy) -> Any:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        return Starlette(middleware=[Middleware(CORSMiddleware, **starlette.configuration(policy))])

    check_round_trip("starlette", app)


def test_flask_cors_round_trip() -> None:
    check_round_trip("flask-cors", flask_cors.build_app)


def test_django_cors_headers_round_trip() -> None:
    check_round_trip("django-cors-headers", django_cors_headers.configuration)
