"""The request signatures of Alibaba Cloud's OpenAPI (pure functions, no I/O).

ACS3-HMAC-SHA256:
CanonicalRequest = METHOD \\n path \\n CanonicalQuery \\n CanonicalHeaders \\n SignedHeaders \\n hex(sha256(body))
StringToSign     = "ACS3-HMAC-SHA256\\n" + hex(sha256(CanonicalRequest))
Signature        = hex(HMAC-SHA256(secret, StringToSign))

RPC signature v1 (HMAC-SHA1), over every query and form field but ``Signature``:
StringToSign     = METHOD & %2F & enc(enc(k)=enc(v) sorted by k, joined by &), enc = RFC 3986 percent-encoding
Signature        = base64(HMAC-SHA1(secret + "&", StringToSign))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class Authorization:
    """The parts of an ``Authorization: ACS3-HMAC-SHA256 ...`` header."""

    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str | None) -> Authorization | None:
    """Split the Authorization header; None when it is missing or not ACS3-HMAC-SHA256 shaped."""
    if not header or not header.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in header[len(ALGORITHM) + 1 :].split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return None
        parts[key] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys() or not parts["Credential"]:
        return None
    return Authorization(parts["Credential"], tuple(parts["SignedHeaders"].split(";")), parts["Signature"])


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """Decoded query pairs, sorted by key, each value percent-encoded with only ``~`` kept."""
    return "&".join(f"{key}={quote(value, safe='~')}" for key, value in sorted(pairs, key=lambda kv: kv[0]))


def string_to_sign(
    method: str,
    path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body_sha256_hex: str,
) -> str:
    """The StringToSign for a request; ``headers`` keys must be lower-case."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            method,
            path or "/",
            canonical_query(query_pairs),
            canonical_headers,
            ";".join(signed_headers),
            body_sha256_hex,
        ]
    )
    return f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def sign(secret: str, to_sign: str) -> str:
    """hex(HMAC-SHA256(secret, to_sign))."""
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.lower(), given.lower())


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Signature v1's StringToSign (as ``aliyun-python-sdk-core`` and the other RPC clients compute it)."""
    pairs = "&".join(f"{_rfc3986(k)}={_rfc3986(params[k])}" for k in sorted(params) if k != "Signature")
    return f"{method}&%2F&{_rfc3986(pairs)}"


def v1_sign(secret: str, to_sign: str) -> str:
    """base64(HMAC-SHA1(secret + "&", to_sign))."""
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
