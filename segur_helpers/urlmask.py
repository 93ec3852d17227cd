"""Credentials carried in URLs, masked wherever a URL is written: captions, evidence, HAR, notebooks, PDFs.

An OpenID Connect return (``/callback?code=…&state=…``), a verification link (``/verify?token=…``), a
signed download (``?X-Amz-Signature=…``) carry, in a URL's query or fragment, a value that is a credential
for as long as it is valid. :func:`mask_urls` replaces the value of every parameter whose *name* says
so — it is, or ends with, ``code``, ``token``, ``state``, ``secret``, ``password``, ``key``, ``signature``,
``nonce``, ``ticket``… (``code_challenge`` and ``code_challenge_method``, which are public, stay) — by
:data:`MASK`, in plain text, in HTML (``&amp;``), in JSON (``\\u0026``) and URL-encoded in another URL
(``%3Fcode%3D…``). It runs inside the secrets' redaction (:class:`segur_helpers.params.Secrets`), which every
text artefact goes through, so no scenario has to remember it.
"""
from __future__ import annotations

import re

MASK = "[masqué]"

_NAME = (r"(?:[A-Za-z0-9_.\-]*?(?:code|token|state|secret|password|passwd|pwd|key|signature|sig|nonce|ticket|otp|"
         r"assertion|jwt|sessionid|session|sid|credential|auth|verifier)|[A-Za-z0-9_.\-]*token[A-Za-z0-9_.\-]*)")
_VALUE_END = r"&#\s\"'<>\\;"
_PLAIN = re.compile(rf"((?:[?&#;]|\\u0026)(?i:{_NAME})=)(?!\[masqu)[^{_VALUE_END}]+")
_ENCODED = re.compile(rf"((?:%3[Ff]|%26|%23)(?i:{_NAME})%3[Dd])(?!%5Bmasqu)(?:(?!%26|%23)[^{_VALUE_END}])+")
_PLAIN_B = re.compile(_PLAIN.pattern.encode())
_ENCODED_B = re.compile(_ENCODED.pattern.encode())
_MASK_B = MASK.encode("utf-8")
_MASK_ENCODED = "%5Bmasqu%C3%A9%5D"


def mask_urls(text: str) -> str:
    """``text`` with the values of credential-carrying URL parameters masked (the rest as it was)."""
    if "=" not in text and "%3" not in text:
        return text
    text = _PLAIN.sub(lambda m: m.group(1) + MASK, text)
    return _ENCODED.sub(lambda m: m.group(1) + _MASK_ENCODED, text)


def mask_urls_bytes(data: bytes) -> bytes:
    if b"=" not in data and b"%3" not in data:
        return data
    data = _PLAIN_B.sub(lambda m: m.group(1) + _MASK_B, data)
    return _ENCODED_B.sub(lambda m: m.group(1) + _MASK_ENCODED.encode(), data)
