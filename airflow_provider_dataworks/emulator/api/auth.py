"""Who signed a DataWorks call: ACS3-HMAC-SHA256 or RPC signature v1 (HMAC-SHA1), checked as DataWorks does.

Both share the rejection kinds (bad signature, unknown key, stale timestamp, reused nonce, STS token) and
the nonce cache. A signature scheme the emulator does not emulate is refused with a message that says so,
not with ``IncompleteSignature`` (which would tell the user their client is broken).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from airflow_provider_dataworks.emulator.api import signature
from airflow_provider_dataworks.emulator.backend import DEFAULT_ACCOUNT_ID, ApiError

MAX_CLOCK_SKEW_SECONDS = 15 * 60
#: The RPC (v1) parameters that carry the signature rather than the call's own fields.
RPC_COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureType",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "SecurityToken",
        "RegionId",
    }
)
EMULATED = "ACS3-HMAC-SHA256 and signature v1 (SignatureMethod=HMAC-SHA1, SignatureVersion=1.0)"


@dataclass(frozen=True)
class Credential:
    """An AccessKey the emulator accepts, of account ``account_id``; ``security_token`` set makes it an STS key."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    account_id: str = DEFAULT_ACCOUNT_ID


class NonceCache:
    """Signature nonces seen in the last 15 minutes (wall time)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str, now: float) -> bool:
        """Record ``nonce``; False if it was used already."""
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if t > now - MAX_CLOCK_SKEW_SECONDS}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def not_emulated(what: str) -> ApiError:
    """The answer to a request shape DataWorks may accept but the emulator does not emulate."""
    return ApiError(
        400, "Emulator.NotEmulated", f"The DataWorks emulator does not emulate {what}; it checks {EMULATED}."
    )


def signature_kind(headers: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    """``"acs3"``, ``"v1"`` or None (unsigned); raises for a scheme the emulator does not emulate."""
    authorization = headers.get("authorization")
    if authorization:
        scheme = authorization.split(" ", 1)[0]
        if scheme != signature.ALGORITHM:
            raise not_emulated(f"the Authorization scheme {scheme!r}")
        return "acs3"
    if "Signature" in params or "SignatureMethod" in params:
        method, version = params.get("SignatureMethod"), params.get("SignatureVersion")
        if method != "HMAC-SHA1" or version != "1.0":
            raise not_emulated(f"signature v1 with SignatureMethod={method!r}, SignatureVersion={version!r}")
        return "v1"
    return None


def _check_time(text: str, wall_now: float, name: str) -> None:
    try:
        sent = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError as err:
        raise ApiError(400, "InvalidTimeStamp.Format", f"{name} {text!r} is not yyyy-MM-ddTHH:mm:ssZ.") from err
    if abs(wall_now - sent) > MAX_CLOCK_SKEW_SECONDS:
        raise ApiError(400, "InvalidTimeStamp.Expired", f"Specified time stamp or date value is expired: {text}.")


def _known(credentials: Callable[[str], Credential | None], access_key_id: str) -> Credential:
    credential = credentials(access_key_id)
    if credential is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return credential


def _check_token(credential: Credential, given: str | None) -> None:
    if credential.security_token is None:
        return
    if given is None:
        raise ApiError(400, "InvalidSecurityToken.Malformed", "An STS AccessKey needs a signed security token.")
    if not hmac.compare_digest(given, credential.security_token):
        raise ApiError(
            400, "InvalidSecurityToken.MismatchWithAccessKey", "The security token does not match the AccessKey."
        )


def verify_acs3(
    method: str,
    path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    credentials: Callable[[str], Credential | None],
    nonces: NonceCache,
    wall_now: float,
) -> Credential:
    """Check the ACS3-HMAC-SHA256 signature of a request (``headers`` lower-case); raise ApiError as DataWorks."""
    auth = signature.parse_authorization(headers.get("authorization"))
    if auth is None:
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    required = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
    missing = sorted(required - set(auth.signed_headers))
    if missing:
        raise ApiError(400, "IncompleteSignature", f"SignedHeaders must include {', '.join(missing)}.")
    credential = _known(credentials, auth.access_key_id)
    _check_time(headers.get("x-acs-date", ""), wall_now, "x-acs-date")
    body_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256", "") != body_hash:
        raise ApiError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    signed_token = headers.get("x-acs-security-token") if "x-acs-security-token" in auth.signed_headers else None
    _check_token(credential, signed_token)
    to_sign = signature.string_to_sign(method, path, query_pairs, headers, auth.signed_headers, body_hash)
    expected = signature.sign(credential.access_key_secret, to_sign)
    if not signature.signatures_match(expected, auth.signature):
        raise ApiError(
            400,
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. Server string to sign is: {to_sign!r}",
        )
    if not nonces.use(headers.get("x-acs-signature-nonce", ""), wall_now):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return credential


def verify_v1(
    method: str,
    params: Mapping[str, str],
    credentials: Callable[[str], Credential | None],
    nonces: NonceCache,
    wall_now: float,
) -> Credential:
    """Check an RPC signature v1 (HMAC-SHA1 over the query and form fields); raise ApiError as DataWorks."""
    missing = [name for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp") if not params.get(name)]
    if missing:
        raise ApiError(400, "IncompleteSignature", f"Signature v1 needs {', '.join(missing)}.")
    credential = _known(credentials, params["AccessKeyId"])
    _check_time(params["Timestamp"], wall_now, "Timestamp")
    _check_token(credential, params.get("SecurityToken"))
    to_sign = signature.v1_string_to_sign(method, params)
    if not hmac.compare_digest(signature.v1_sign(credential.access_key_secret, to_sign), params["Signature"]):
        raise ApiError(
            400,
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. Server string to sign is: {to_sign!r}",
        )
    if not nonces.use(params["SignatureNonce"], wall_now):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return credential
