"""SigV4 on the HTTP side (``--require-sigv4``): the keys, the check, AWS's errors.

API Gateway requires AWS Signature Version 4 on the control plane (service
``apigateway``) and on @connections (service ``execute-api``, reference §5);
boto3 and the AWS CLI always sign.  :class:`SigV4Verifier` checks a received
request by recomputing its signature with botocore's own signer
(``botocore.auth.SigV4Auth``, the optional extra ``framer[sigv4]``) over the
headers the client signed, at the client's own ``X-Amz-Date``, and comparing
with :func:`hmac.compare_digest`.  The errors are API Gateway's (403 each):
no ``Authorization`` is ``MissingAuthenticationTokenException``, a malformed
one ``IncompleteSignatureException``, an unknown key id
``UnrecognizedClientException``, a wrong or expired (over 5 minutes of skew)
signature ``InvalidSignatureException``.  Messages are AWS's as documented in
"Troubleshoot signed requests for AWS APIs" (IAM user guide) and API
Gateway's knowledge-center article on SigV4 mismatches.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple, Sequence

from framer.router._errors import ApiGatewayError

__all__ = [
    "AccessKey",
    "SigV4Verifier",
    "check_keys",
    "SigV4Error",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MAX_SKEW_SECONDS",
]

#: How far a request's ``X-Amz-Date`` may be from the server's clock (AWS: 5 minutes).
MAX_SKEW_SECONDS = 300

_ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One access key the server accepts: ``key_id`` and its ``secret``."""

    key_id: str
    secret: str

    def __post_init__(self) -> None:
        if not self.key_id or any(c.isspace() or c in "/:," for c in self.key_id):
            raise ValueError(f"access key id {self.key_id!r} must be non-empty, "
                             "without spaces, '/', ':' or ','")
        if not self.secret:
            raise ValueError(f"access key {self.key_id}: the secret is empty")

    def __repr__(self) -> str:  # never print the secret
        return f"AccessKey(key_id={self.key_id!r}, secret='***')"

    @classmethod
    def parse(cls, text: str) -> "AccessKey":
        """``ID:SECRET`` (as ``--access-key`` takes it)."""
        key_id, sep, secret = text.partition(":")
        if not sep:
            raise ValueError("an access key is given as ID:SECRET")
        return cls(key_id, secret)


class SigV4Error(ApiGatewayError):
    """A request whose signature does not let it through (403)."""

    status = 403


class MissingAuthenticationTokenException(SigV4Error):
    """No signature at all."""

    error_type = "MissingAuthenticationTokenException"


class IncompleteSignatureException(SigV4Error):
    """An ``Authorization`` header that is not a whole SigV4 signature."""

    error_type = "IncompleteSignatureException"


class InvalidSignatureException(SigV4Error):
    """A signature that is wrong, expired or scoped to another service."""

    error_type = "InvalidSignatureException"


class UnrecognizedClientException(SigV4Error):
    """A key id the server does not know."""

    error_type = "UnrecognizedClientException"


_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. "
             "Consult the service documentation for details.")


class _Authorization(NamedTuple):
    """The parts of an ``AWS4-HMAC-SHA256`` Authorization header."""

    key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _parse_authorization(value: str, has_date: bool) -> _Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    if not has_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header.")
    if algorithm != _ALGORITHM or missing:
        if algorithm != _ALGORITHM:
            missing.insert(0, f"Unsupported authorization type {algorithm!r}: expected {_ALGORITHM}.")
        raise IncompleteSignatureException(" ".join(missing) + f" Authorization={value}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise IncompleteSignatureException(
            f"Credential should be scoped as KEY/YYYYMMDD/REGION/SERVICE/aws4_request, "
            f"got {fields['Credential']!r}.")
    signed = tuple(fields["SignedHeaders"].lower().split(";"))
    return _Authorization(scope[0], scope[1], scope[2], scope[3], signed, fields["Signature"])


def check_keys(keys: Sequence[AccessKey]) -> None:
    """ValueError unless SigV4 can be verified with *keys*: at least one, and botocore."""
    if not keys:
        raise ValueError("SigV4 verification needs at least one access key "
                         "(--access-key ID:SECRET, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    if importlib.util.find_spec("botocore") is None:
        raise ValueError("SigV4 verification needs botocore: pip install 'framer[sigv4]'")


class SigV4Verifier:
    """Checks SigV4 signatures against ``keys`` (``clock``: seconds since the epoch)."""

    def __init__(self, keys: Sequence[AccessKey], clock: Callable[[], float] = time.time) -> None:
        check_keys(keys)
        from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
        from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
        from botocore.credentials import Credentials  # type: ignore[import-untyped]

        self._auth: Any = SigV4Auth
        self._request: Any = AWSRequest
        self._credentials: Any = Credentials
        self.keys = {key.key_id: key for key in keys}
        self.clock = clock

    def verify(self, service: str, method: str, targets: Sequence[str],
               headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Raise a :class:`SigV4Error` unless the request is signed for *service*
        by a known key.  *targets* are the paths (with query) the client may
        have signed: the received one, and the one before a rewrite (a
        function's @connections call moved onto framer's long form)."""
        by_name: dict[str, list[str]] = {}
        for name, value in headers:
            by_name.setdefault(name.lower(), []).append(value.strip())
        authorization = by_name.get("authorization")
        if not authorization:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        amz_date = by_name.get("x-amz-date", [""])[0]
        auth = _parse_authorization(authorization[0], bool(amz_date))
        if auth.service != service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{service}'.")
        when = self._check_date(amz_date, auth.date)
        key = self.keys.get(auth.key_id)
        if key is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")
        if "host" not in auth.signed_headers:
            raise InvalidSignatureException(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        signed = {}
        for name in auth.signed_headers:
            if name not in by_name:
                raise InvalidSignatureException(_MISMATCH)
            signed[name] = ",".join(by_name[name])
        content_hash = signed.get("x-amz-content-sha256")
        if content_hash not in (None, _UNSIGNED_PAYLOAD) \
                and content_hash != hashlib.sha256(body).hexdigest():
            raise InvalidSignatureException(
                "The provided 'x-amz-content-sha256' header does not match what was computed.")
        signer = self._auth(self._credentials(key.key_id, key.secret), service, auth.region)
        for target in targets:
            request = self._request(method=method, url=f"http://{signed['host']}{target}",
                                    headers=signed, data=body)
            request.context["timestamp"] = when
            canonical = signer.canonical_request(request)
            expected = signer.signature(signer.string_to_sign(request, canonical), request)
            if hmac.compare_digest(expected.encode(), auth.signature.encode()):
                return
        raise InvalidSignatureException(_MISMATCH)

    def _check_date(self, amz_date: str, scope_date: str) -> str:
        """*amz_date* if it is well formed, matches the scope and is within the skew."""
        try:
            when = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
        except ValueError:
            raise IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601") from None
        if scope_date != amz_date[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        skew = timedelta(seconds=MAX_SKEW_SECONDS)
        if when < now - skew:
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - skew).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 5 min.)")
        if when > now + skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than "
                f"{(now + skew).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 5 min.)")
        return amz_date
