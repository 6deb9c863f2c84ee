"""A few strings that fully match a regular expression, computed once: the pool half of a
pattern-driven generator (``st.from_regex`` stays beside it as the rich half).

The walk goes over the parse tree of :mod:`re` (``re._parser``, what Hypothesis's own
``from_regex`` reads): for each character class a few representatives (the first lowercase
letter, digit, uppercase letter and other character, and one from the middle of each), for
each repeat its minimum count and one or three more. Parts are combined so that every
alternative of every part shows up in some sample, the first sample taking the first of each.
Every sample is checked with ``re.fullmatch``; a construct the walk does not know (a back
reference, a conditional group) gives no samples at all, and the caller falls back to
``st.from_regex`` alone.
"""

from __future__ import annotations

import importlib
import itertools
import re
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

# Private, but it is what Hypothesis's from_regex parses patterns with; typeshed only knows
# the deprecated ``sre_parse`` alias, whence ``Any``.
_parser: Any = importlib.import_module("re._parser")

_MAX_COUNT: Final = 256  # a repeat whose minimum is above this is not sampled
_GROUPS: Final = (
    string.ascii_lowercase,
    string.digits,
    string.ascii_uppercase,
)
_CATEGORIES: Final[dict[str, Callable[[str], bool]]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
}
_FALLBACK_ALPHABET: Final = string.ascii_letters + string.digits + string.punctuation + " "


class _Unsupported(Exception):
    pass


def regex_samples(pattern: str, *, alphabet: str, limit: int = 24) -> tuple[str, ...]:
    """Up to ``limit`` strings that ``re.fullmatch(pattern, ...)``, simplest first, drawn from
    ``alphabet`` where the pattern allows (outside it where it insists). Empty when the pattern
    does not parse or uses a construct the walk does not know."""
    try:
        compiled = re.compile(pattern)
        tree = _parser.parse(pattern)
        candidates = _sequence(tree, alphabet, limit)
    except (re.error, _Unsupported, RecursionError):
        return ()
    matching = (text for text in candidates if compiled.fullmatch(text))
    return tuple(itertools.islice(dict.fromkeys(matching), limit))


def _combine(heads: Sequence[str], tails: Sequence[str], limit: int) -> list[str]:
    """Concatenations: every head and every tail at least once (along the diagonal), then the
    rest of the product in order of index sum, up to ``limit``."""
    if len(heads) * len(tails) <= limit:
        return [head + tail for head in heads for tail in tails]
    pairs = [(i % len(heads), i % len(tails)) for i in range(max(len(heads), len(tails)))]
    seen = set(pairs)
    for total in range(len(heads) + len(tails)):
        if len(pairs) >= limit:
            break
        for i in range(max(0, total - len(tails) + 1), min(total, len(heads) - 1) + 1):
            if (i, total - i) not in seen:
                seen.add((i, total - i))
                pairs.append((i, total - i))
    return [heads[i] + tails[j] for i, j in pairs[: max(limit, len(heads), len(tails))]]


def _sequence(items: Iterable[tuple[Any, Any]], alphabet: str, limit: int) -> list[str]:
    found = [""]
    for op, av in items:
        found = _combine(found, _node(str(op), av, alphabet, limit), limit)
    return found


def _representatives(allowed: Callable[[str], bool], alphabet: str) -> list[str]:
    chars = [c for c in alphabet if allowed(c)]
    if not chars:
        chars = [c for c in _FALLBACK_ALPHABET if allowed(c)]
    if not chars:
        raise _Unsupported
    groups = [[c for c in chars if c in group] for group in _GROUPS]
    groups.append([c for c in chars if not any(c in group for group in _GROUPS)])
    picked: list[str] = []
    for group in groups:
        picked += [group[0], group[len(group) // 2], group[-1]] if group else []
    return list(dict.fromkeys(picked))


def _class_test(av: Sequence[tuple[Any, Any]]) -> Callable[[str], bool]:
    ranges: list[tuple[int, int]] = []
    categories: list[Callable[[str], bool]] = []
    negate = False
    for op, value in av:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            ranges.append((int(value), int(value)))
        elif name == "RANGE":
            ranges.append((int(value[0]), int(value[1])))
        elif name == "CATEGORY" and str(value) in _CATEGORIES:
            categories.append(_CATEGORIES[str(value)])
        else:
            raise _Unsupported

    def test(char: str) -> bool:
        code = ord(char)
        hit = any(low <= code <= high for low, high in ranges) or any(t(char) for t in categories)
        return hit != negate

    return test


def _node(op: str, av: Any, alphabet: str, limit: int) -> list[str]:
    if op == "LITERAL":
        return [chr(av)]
    if op == "NOT_LITERAL":
        return _representatives(lambda c: ord(c) != av, alphabet)[:2]
    if op == "ANY":
        return _representatives(lambda c: c != "\n", alphabet)[:2]
    if op == "IN":
        return _representatives(_class_test(av), alphabet)
    if op == "CATEGORY" and str(av) in _CATEGORIES:
        return _representatives(_CATEGORIES[str(av)], alphabet)[:2]
    if op == "BRANCH":
        return list(
            itertools.chain.from_iterable(_sequence(branch, alphabet, limit) for branch in av[1])
        )
    if op == "SUBPATTERN":
        return _sequence(av[-1], alphabet, limit)
    if op == "ATOMIC_GROUP":
        return _sequence(av, alphabet, limit)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _repeat(int(av[0]), int(av[1]), _sequence(av[2], alphabet, limit), limit)
    if op in ("AT", "ASSERT", "ASSERT_NOT"):
        return [""]  # anchors and lookarounds: whatever fails them, fullmatch weeds out
    raise _Unsupported


def _repeat(low: int, high: int, parts: Sequence[str], limit: int) -> list[str]:
    if low > _MAX_COUNT:
        raise _Unsupported
    counts = dict.fromkeys(n for n in (low, low + 1, low + 3) if n <= high)
    found: list[str] = []
    for count in counts:
        found += [part * count for part in parts]
        if count > 1 and len(parts) > 1:
            found.append("".join(parts[i % len(parts)] for i in range(count)))
    return list(dict.fromkeys(found))[: max(limit, len(parts))]
