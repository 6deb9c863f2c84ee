"""django-cors-headers (``corsheaders.middleware.CorsMiddleware``) configured from a policy, in
front of a Django project whose one view serves the demo application; and a policy read back
from a project's ``CORS_*`` settings.

Django's settings are process-wide: one policy is in force at a time (each :func:`build_target`
sets the ``CORS_*`` settings anew, as ``override_settings`` would).

What it cannot express:

* ``[[paths]]``: ``CORS_URLS_REGEX`` only says where the one configuration applies;
* ``max_age = 0``: a falsy ``CORS_PREFLIGHT_MAX_AGE`` sends no ``Access-Control-Max-Age``;
* ``allow_methods = ["*"]`` or ``allow_headers = ["*"]`` with credentials: the lists are sent as
  they are, and under credentials a browser reads ``*`` as a name.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target, WsgiTarget
from reference.policy import ANY, CorsPolicy

NAME: Final = "django-cors-headers"
FRAMEWORK: Final = "django-cors-headers"
SETTINGS: Final = (
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_PREFLIGHT_MAX_AGE",
    "CORS_ALLOW_PRIVATE_NETWORK",
)


def package_version() -> str:
    return f"{c.package_version('django-cors-headers')} (django {c.package_version('django')})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The ``CORS_*`` settings for ``policy``."""
    c.refuse_paths(policy, "CORS_URLS_REGEX only says where the one configuration applies")
    if policy.max_age == 0:
        raise Inexpressible(
            "max_age: 0: a falsy CORS_PREFLIGHT_MAX_AGE sends no Access-Control-Max-Age"
        )
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_headers", FRAMEWORK)
    headers = c.header_list(policy)
    if c.any_header(policy):
        # Fetch's Access-Control-Allow-Headers: * leaves out Authorization: list it too.
        headers = [ANY, "authorization"]
    return {
        "CORS_ALLOW_ALL_ORIGINS": c.any_origin(policy),
        "CORS_ALLOWED_ORIGINS": [] if c.any_origin(policy) else c.listed_origins(policy),
        "CORS_ALLOWED_ORIGIN_REGEXES": [
            c.fullmatch_pattern(p) for p in policy.allow_origin_patterns
        ],
        "CORS_ALLOW_METHODS": c.methods(policy),
        "CORS_ALLOW_HEADERS": headers,
        "CORS_EXPOSE_HEADERS": c.exposed(policy),
        "CORS_ALLOW_CREDENTIALS": policy.allow_credentials,
        "CORS_PREFLIGHT_MAX_AGE": 0 if policy.max_age is None else policy.max_age,
        "CORS_ALLOW_PRIVATE_NETWORK": policy.allow_private_network,
    }


def _demo_view(request: Any, path: str = "") -> Any:  # noqa: ARG001 (the URL's argument)
    from django.http import HttpResponse

    status, headers, body = demo_response(request.method, request.path)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name.decode()] = value.decode()
    return response


def _configure_django() -> None:
    import logging

    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="cors-conformance: a test project, never deployed",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["corsheaders.middleware.CorsMiddleware"],
        INSTALLED_APPS=["corsheaders"],
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()
    # 404s for */missing are the demo's answers, not news: keep Django's request log quiet.
    logging.getLogger("django.request").setLevel(logging.ERROR)


def _urlpatterns() -> list[Any]:
    from django.urls import re_path

    return [re_path(r"^(?P<path>.*)$", _demo_view)]


def __getattr__(name: str) -> Any:
    # ROOT_URLCONF is this module; Django asks it for urlpatterns once configured.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def build_app(policy: CorsPolicy) -> Any:
    config = configuration(policy)
    _configure_django()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    for key, value in config.items():
        setattr(settings, key, value)
    return get_wsgi_application()


def build_target(policy: CorsPolicy) -> Target:
    return WsgiTarget(build_app(policy), name=NAME)


def read_policy(source: Any) -> CorsPolicy:
    """The policy a project's django-cors-headers settings mean. ``source`` is a settings module
    or object (``django.conf.settings``), or a mapping of setting names; what is not set takes
    django-cors-headers' defaults. ``CORS_URLS_REGEX`` is not read (the policy applies
    everywhere)."""
    from corsheaders.defaults import default_headers, default_methods

    def setting(name: str, default: Any) -> Any:
        if isinstance(source, dict):
            return source.get(name, default)
        return getattr(source, name, default)

    allow_all = setting("CORS_ALLOW_ALL_ORIGINS", setting("CORS_ORIGIN_ALLOW_ALL", False))
    origins = setting("CORS_ALLOWED_ORIGINS", setting("CORS_ORIGIN_WHITELIST", ()))
    regexes = setting("CORS_ALLOWED_ORIGIN_REGEXES", setting("CORS_ORIGIN_REGEX_WHITELIST", ()))
    max_age = setting("CORS_PREFLIGHT_MAX_AGE", 86400)
    return CorsPolicy(
        allow_origins=(ANY,) if allow_all else tuple(origins),
        # re.match anchors at the start only: what follows is left open, as it is there.
        allow_origin_patterns=tuple(f"(?:{_pattern(r)}).*" for r in regexes),
        allow_methods=tuple(setting("CORS_ALLOW_METHODS", default_methods)),
        allow_headers=tuple(h.lower() for h in setting("CORS_ALLOW_HEADERS", default_headers)),
        expose_headers=tuple(setting("CORS_EXPOSE_HEADERS", ())),
        allow_credentials=bool(setting("CORS_ALLOW_CREDENTIALS", False)),
        max_age=int(max_age) if max_age else None,
        allow_private_network=bool(setting("CORS_ALLOW_PRIVATE_NETWORK", False)),
    )


def _pattern(regex: Any) -> str:
    return regex if isinstance(regex, str) else str(regex.pattern)


def settings_of(module: ModuleType) -> dict[str, Any]:
    """The ``CORS_*`` names a settings module sets (for reading a project without Django)."""
    return {k: getattr(module, k) for k in dir(module) if k.startswith("CORS_")}
