"""Grammars, each written once: ABNF in a comment, the compiled pattern below.

``reference`` validates with these; ``strategies`` generates from the same patterns
(``st.from_regex(pattern, fullmatch=True)``), so generator and oracle cannot drift apart.
All patterns are over bytes, as Fetch defines header names and values as byte sequences.
"""

from __future__ import annotations

import re
from typing import Final

# RFC 9110 §5.6.2
#   token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
#         / "~" / DIGIT / ALPHA
TCHARS: Final = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_PATTERN: Final = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
TOKEN: Final = re.compile(TOKEN_PATTERN)
# #token = [ token ] *( OWS "," OWS [ token ] ) (RFC 9110 §5.6.1, empty elements allowed)
TOKEN_LIST: Final = re.compile(
    rb"[\t ]*(?:" + TOKEN_PATTERN + rb")?[\t ]*(?:,[\t ]*(?:" + TOKEN_PATTERN + rb")?[\t ]*)*"
)

# Fetch §2.2: HTTP tab or space (OWS) and HTTP whitespace.
OWS_BYTES: Final = b"\t "
HTTP_WHITESPACE_BYTES: Final = b"\t\n\r "

# Fetch "CORS-unsafe request-header byte": a byte < 0x20 other than 0x09, or one of
#   0x22 " 0x28 ( 0x29 ) 0x3A : 0x3C < 0x3E > 0x3F ? 0x40 @ 0x5B [ 0x5C \ 0x5D ] 0x7B { 0x7D } 0x7F
CORS_UNSAFE_REQUEST_HEADER_BYTES: Final = frozenset(
    [b for b in range(0x20) if b != 0x09] + list(b'"():<>?@[\\]{}') + [0x7F]
)

# Fetch §3.1 (Origin header ABNF):
#   origin-or-null = origin / %s"null"            ; case-sensitive
#   origin         = scheme "://" host [ ":" port ]
# Fetch restricts the scheme and domain to lowercase ASCII and IPv6 to its canonical text; the
# pattern below covers what browsers emit for http(s) pages (web pages are http or https;
# extension schemes such as chrome-extension:// are out of scope). ``port`` is 1*5DIGIT;
# the model additionally requires 0..65535 and no default port.
SCHEME_PATTERN: Final = rb"https?"
# The URL Standard's host parser is lenient (UTS #46 with CheckHyphens and STD3 rules off):
# browsers serialize hosts such as `a_b.example`, `-a.example` or `a.example.` (trailing dot)
# as they are, so labels are any of [a-z0-9_-] and a final dot may follow.
DOMAIN_LABEL_PATTERN: Final = rb"[a-z0-9_\-]{1,63}"
DOMAIN_PATTERN: Final = DOMAIN_LABEL_PATTERN + rb"(?:\." + DOMAIN_LABEL_PATTERN + rb")*\.?"
IPV4_PATTERN: Final = (
    rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    rb"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)
IPV6_PATTERN: Final = rb"\[[0-9a-f:.]+\]"  # checked for canonical form in reference.origins
HOST_PATTERN: Final = rb"(?:" + IPV6_PATTERN + rb"|" + DOMAIN_PATTERN + rb")"
PORT_PATTERN: Final = rb"[0-9]{1,5}"
SERIALIZED_ORIGIN_PATTERN: Final = (
    rb"(?P<scheme>" + SCHEME_PATTERN + rb")://(?P<host>" + HOST_PATTERN + rb")"
    rb"(?::(?P<port>" + PORT_PATTERN + rb"))?"
)
SERIALIZED_ORIGIN: Final = re.compile(SERIALIZED_ORIGIN_PATTERN)

# RFC 9110 §5.6.1 list rule, as Fetch's "extract header list values" applies it:
#   #element => [ element ] *( OWS "," OWS [ element ] )
# (empty elements allowed and dropped). Implemented by split in reference.headers.

# Access-Control-Max-Age = delta-seconds ; delta-seconds = 1*DIGIT
DELTA_SECONDS: Final = re.compile(rb"[0-9]+")


def is_token(value: bytes) -> bool:
    """RFC 9110 token: one or more tchar."""
    return TOKEN.fullmatch(value) is not None
