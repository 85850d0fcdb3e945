"""The emulated STS (2015-04-01): ``AssumeRole`` and ``AssumeRoleWithOIDC`` (rules only; no I/O).

What ``ram_role_arn`` and ``oidc_role_arn`` connections call before they sign DataWorks calls with the
temporary key they get. Requests are RPC style: every parameter in the query string, ``AssumeRole`` signed
with signature version 1 (HMAC-SHA1 over the sorted query, secret + ``&``), ``AssumeRoleWithOIDC`` not signed
(the OIDC token is the proof). Error codes are STS' documented ones. A temporary key acts for an account: the
role's when the role names one, else that of the AccessKey that assumed it (``AssumeRoleWithOIDC``: the
default account).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

from airflow_provider_dataworks.emulator.api.signature import v1_sign
from airflow_provider_dataworks.emulator.backend import DEFAULT_ACCOUNT_ID, ApiError

STS_VERSION = "2015-04-01"
STS_ACTIONS = ("AssumeRole", "AssumeRoleWithOIDC")
#: Query parameters that are secrets: the call log shows them as this.
REDACTED = "<redacted>"
SECRET_PARAMS = ("SecurityToken", "OIDCToken", "Signature")
MIN_DURATION_S, MAX_DURATION_S = 900, 43200
MAX_TIMESTAMP_SKEW_S = 15 * 60


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Signature v1: ``METHOD&%2F&`` + the encoded, sorted ``k=v`` pairs (``Signature`` left out).

    Encoded as ``alibabacloud_credentials`` does (``quote_plus``), which is what the client under test sends;
    DataWorks calls signed v1 use RFC 3986 (``signature.v1_string_to_sign``). Both sign with ``signature.v1_sign``.
    """
    pairs = "&".join(f"{quote_plus(k)}={quote_plus(params[k])}" for k in sorted(params) if k != "Signature")
    return f"{method}&{quote_plus('/')}&{quote_plus(pairs)}"


def redacted(params: Mapping[str, str]) -> dict[str, str]:
    """``params`` as the call log keeps them: tokens and the signature replaced."""
    return {k: REDACTED if k in SECRET_PARAMS else v for k, v in params.items()}


@dataclass(frozen=True)
class IssuedKey:
    """A temporary key STS handed out. ``expires_at`` in wall-clock UTC (clients compare it with theirs)."""

    access_key_id: str
    role_arn: str
    session_name: str
    expires_at: datetime
    account_id: str = DEFAULT_ACCOUNT_ID


@dataclass(frozen=True)
class Role:
    """A RAM role: who may assume it (None: every AccessKey the emulator knows) and the account its temporary
    keys act for (None: the assuming key's)."""

    arn: str
    trusted_access_key_ids: frozenset[str] | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class OidcProvider:
    arn: str
    token: str  # the one token it accepts (a real provider checks a signed JWT)


class StsService:
    """Roles that may be assumed, OIDC providers, and the temporary keys handed out.

    :param caller: the long-term or STS key an ``AccessKeyId`` names: (secret, security token, account), None
        when unknown.
    :param issue: makes a new STS key of an account that the DataWorks side accepts; returns (id, secret,
        security token).
    :param use_nonce: records a ``SignatureNonce``; False when it was used already.
    """

    def __init__(
        self,
        caller: Callable[[str], tuple[str, str | None, str] | None],
        issue: Callable[[str], tuple[str, str, str]],
        use_nonce: Callable[[str], bool],
    ) -> None:
        self._caller = caller
        self._issue = issue
        self._use_nonce = use_nonce
        self._roles: dict[str, Role] = {}
        self._oidc: dict[str, OidcProvider] = {}
        self._issued: list[IssuedKey] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ scenario
    def add_role(
        self, role_arn: str, trusted_access_key_ids: set[str] | None = None, account: str | None = None
    ) -> str:
        """A RAM role; ``trusted_access_key_ids`` may assume it (None: every AccessKey the emulator knows); its
        temporary keys act for ``account`` (None: the account of the key that assumed it)."""
        trusted = frozenset(trusted_access_key_ids) if trusted_access_key_ids is not None else None
        self._roles[role_arn] = Role(role_arn, trusted, account)
        return role_arn

    def add_oidc_provider(self, arn: str, token: str | None = None) -> OidcProvider:
        provider = OidcProvider(arn, token or secrets.token_urlsafe(64))
        self._oidc[arn] = provider
        return provider

    @property
    def issued(self) -> list[IssuedKey]:
        with self._lock:
            return list(self._issued)

    # ------------------------------------------------------------------------------ operations
    def handle(self, method: str, params: Mapping[str, str], wall_now: datetime) -> dict[str, object]:
        """Carry out one STS request; the answer body without its RequestId. Raises ApiError as STS would."""
        if params.get("Version") != STS_VERSION:
            raise ApiError(400, "InvalidVersion", f"Specified version {params.get('Version')!r} is not valid.")
        _check_timestamp(params.get("Timestamp", ""), wall_now)
        role_arn = params.get("RoleArn", "")
        if not role_arn:
            raise ApiError(400, "MissingRoleArn", "RoleArn is mandatory for this action.")
        duration = _duration(params.get("DurationSeconds", "3600"))
        session = params.get("RoleSessionName", "")
        if not session:
            raise ApiError(400, "MissingRoleSessionName", "RoleSessionName is mandatory for this action.")
        if params.get("Action") == "AssumeRole":
            caller, caller_account = self._verify_signed(method, params)
            role = self._role(role_arn)
            if role.trusted_access_key_ids is not None and caller not in role.trusted_access_key_ids:
                raise ApiError(
                    403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM."
                )
            account = role.account_id or caller_account
        else:
            provider = self._oidc.get(params.get("OIDCProviderArn", ""))
            if provider is None:
                raise ApiError(401, "AuthenticationFail.NoPermission", "No such OIDC Provider registered.")
            token = params.get("OIDCToken", "").strip()
            if not token:
                raise ApiError(401, "AuthenticationFail.OIDCToken.Invalid", "The OIDCToken can not empty.")
            if not hmac.compare_digest(token, provider.token):
                message = "OIDC token validate failed: invalid signature."
                raise ApiError(401, "AuthenticationFail.OIDCToken.InvalidSignature", message)
            account = self._role(role_arn).account_id or DEFAULT_ACCOUNT_ID
        return self._grant(role_arn, session, duration, wall_now, account)

    def _verify_signed(self, method: str, params: Mapping[str, str]) -> tuple[str, str]:
        """The AccessKey id that signed an ``AssumeRole`` and its account; raises ApiError as STS would."""
        access_key_id = params.get("AccessKeyId", "")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        known = self._caller(access_key_id)
        if known is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        secret, token, account = known
        if token is not None and params.get("SecurityToken") != token:
            raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey", "The security token does not match.")
        expected = v1_sign(secret, rpc_string_to_sign(method, params))
        if not hmac.compare_digest(expected, params.get("Signature", "")):
            raise ApiError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        if not self._use_nonce(params.get("SignatureNonce", "")):
            raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        return access_key_id, account

    def _role(self, role_arn: str) -> Role:
        if role_arn not in self._roles:
            raise ApiError(404, "EntityNotExist.Role", f"The role not exists: {role_arn}.")
        return self._roles[role_arn]

    def _grant(
        self, role_arn: str, session: str, duration_s: int, wall_now: datetime, account: str
    ) -> dict[str, object]:
        key_id, secret, token = self._issue(account)
        expires = (wall_now + timedelta(seconds=duration_s)).replace(microsecond=0)
        with self._lock:
            self._issued.append(IssuedKey(key_id, role_arn, session, expires, account))
        role_name = role_arn.rsplit("/", 1)[-1]
        return {
            "Credentials": {
                "AccessKeyId": key_id,
                "AccessKeySecret": secret,
                "SecurityToken": token,
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "AssumedRoleUser": {"Arn": f"{role_arn}/{session}", "AssumedRoleId": f"3{secrets.token_hex(8)}:{session}"},
            "SourceIdentity": role_name,
        }


def _check_timestamp(text: str, wall_now: datetime) -> None:
    try:
        sent = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError as err:
        raise ApiError(400, "InvalidTimeStamp.Format", f"Timestamp {text!r} is not yyyy-MM-ddTHH:mm:ssZ.") from err
    if abs((wall_now - sent).total_seconds()) > MAX_TIMESTAMP_SKEW_S:
        raise ApiError(400, "InvalidTimeStamp.Expired", f"Specified time stamp or date value is expired: {text}.")


def _duration(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise ApiError(400, "InvalidParameter.DurationSeconds", "DurationSeconds must be a number.") from err
    if not MIN_DURATION_S <= value <= MAX_DURATION_S:
        raise ApiError(
            400,
            "InvalidParameter.DurationSeconds",
            f"DurationSeconds must be between {MIN_DURATION_S} and {MAX_DURATION_S}.",
        )
    return value
