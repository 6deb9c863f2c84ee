"""Starlette's CORSMiddleware configured as FastAPI's CORS tutorial shows
(https://fastapi.tiangolo.com/tutorial/cors/), in front of a small Starlette app.

Its declared intent is ``conformance/policies/fastapi-docs.toml``. Run::

    cors-conformance run --app conformance.examples.fastapi_docs:app \\
        --policy conformance/policies/fastapi-docs.toml
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

origins = [
    "http://localhost.tiangolo.com",
    "https://localhost.tiangolo.com",
    "http://localhost",
    "http://localhost:8080",
]


async def items(_: Request) -> PlainTextResponse:
    return PlainTextResponse(
        "items\n",
        headers={"X-Request-Id": "42", "Cache-Control": "no-store"},
    )


app = Starlette(
    routes=[Route("/{path:path}", items, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])],
    middleware=[
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    ],
)
