"""Request methods a page can pass to ``fetch()`` (digest §4.1).

A method is any token except the forbidden ``CONNECT``, ``TRACE`` and ``TRACK`` (in any case).
The browser uppercases case-insensitive matches of ``DELETE GET HEAD OPTIONS POST PUT`` and
leaves everything else as written, so ``get`` is simple while ``patch`` is preflighted as
``patch``: case variants are where servers go wrong. Shrinks toward ``GET``.
"""

from __future__ import annotations

import functools
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.grammar import TOKEN_PATTERN
from reference.safelist import is_forbidden_method
from strategies._util import RARE_SHARE, Pool, mix, pooled, rare, unique
from strategies._validation import check_bool

__all__ = [
    "CASE_VARIANT_METHODS",
    "CUSTOM_METHODS",
    "SAFELISTED_METHODS",
    "UNSAFE_METHODS",
    "methods",
]

SAFELISTED_METHODS: Final = ("GET", "HEAD", "POST")
"""The CORS-safelisted methods, simplest first."""
UNSAFE_METHODS: Final = ("PUT", "DELETE", "PATCH", "OPTIONS")
"""Standard methods that need a preflight."""
CASE_VARIANT_METHODS: Final = ("get", "patch", "Post", "pAtCh", "delete", "Put", "oPtIoNs", "hEaD")
"""Mixed into the case variants: ``get`` normalizes to ``GET``, ``patch`` stays ``patch``."""
CUSTOM_METHODS: Final = ("QUERY", "PROPFIND", "CHICKEN", "TacO", "M-SEARCH")
"""Mixed into the custom tokens (WebDAV, SSDP, the WPT's ``TacO`` and ``CHICKEN``)."""
_STANDARD: Final = frozenset(SAFELISTED_METHODS + UNSAFE_METHODS)


def _flip_case(method: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(method, flips, strict=True))


@functools.cache
def _case_variants(method: str) -> st.SearchStrategy[str]:
    return (
        st.lists(st.booleans(), min_size=len(method), max_size=len(method))
        .map(lambda flips: _flip_case(method, flips))
        .filter(lambda variant: variant != method)
    )


def _fixed_case_variants(method: str) -> list[str]:
    """``method`` lowercased, capitalized, and in both alternating cases (``gEt``, ``GeT``)."""
    alternating = "".join(c.lower() if i % 2 == 0 else c.upper() for i, c in enumerate(method))
    found = [method.lower(), method.capitalize(), alternating, alternating.swapcase()]
    return [variant for variant in found if variant != method]


def _is_custom(method: str) -> bool:
    return method.upper() not in _STANDARD and not is_forbidden_method(method.encode("ascii"))


def methods(
    *,
    include_safelisted: bool = True,
    include_unsafe: bool = True,
    custom: bool = True,
    case_variants: bool = True,
) -> st.SearchStrategy[str]:
    """Methods a browser lets script use, never a forbidden one.

    ``include_safelisted``: ``GET``, ``HEAD``, ``POST``; ``include_unsafe``: ``PUT``, ``DELETE``,
    ``PATCH``, ``OPTIONS``; ``custom``: other tokens from :data:`reference.grammar.TOKEN_PATTERN`
    (``CHICKEN``, ``m-search``); ``case_variants``: the included standard methods in other
    cases (``get``, ``Post``, ``pAtCh``). The standard spellings come first, ``GET`` before all.
    """
    include_safelisted = check_bool("include_safelisted", include_safelisted)
    include_unsafe = check_bool("include_unsafe", include_unsafe)
    custom = check_bool("custom", custom)
    case_variants = check_bool("case_variants", case_variants)
    if not (include_safelisted or include_unsafe or custom):
        raise InvalidArgument(
            f"include_safelisted={include_safelisted!r}, include_unsafe={include_unsafe!r} and "
            f"custom={custom!r} leave no method to generate"
        )
    return _methods(include_safelisted, include_unsafe, custom, case_variants)


@functools.cache
def _methods(
    include_safelisted: bool, include_unsafe: bool, custom: bool, case_variants: bool
) -> st.SearchStrategy[str]:
    return pooled(method_pool(include_safelisted, include_unsafe, custom, case_variants))


@functools.cache
def method_pool(
    include_safelisted: bool = True,
    include_unsafe: bool = True,
    custom: bool = True,
    case_variants: bool = True,
) -> Pool[str]:
    """The pool behind :func:`methods` (arguments already checked): the standard methods (four
    tenths), case variants (four tenths; fixed ones, then random flips now and then), custom
    tokens (two tenths; fixed ones, then tokens from the grammar a little more often)."""
    standard = (SAFELISTED_METHODS if include_safelisted else ()) + (
        UNSAFE_METHODS if include_unsafe else ()
    )
    sections: list[tuple[float, Pool[str]]] = []
    if standard:
        sections.append((4, Pool.of(standard)))
        if case_variants:
            fixed = [m for m in CASE_VARIANT_METHODS if m.upper() in standard]
            fixed += [variant for method in standard for variant in _fixed_case_variants(method)]
            flips = st.sampled_from(standard).flatmap(_case_variants)
            sections.append((4, rare(unique(fixed), flips, share=RARE_SHARE)))
    if custom:
        tokens = st.from_regex(TOKEN_PATTERN.decode("ascii"), fullmatch=True).filter(_is_custom)
        sections.append((2, rare(CUSTOM_METHODS, tokens, share=RARE_SHARE // 2)))
    return mix(sections)
