# SPDX-License-Identifier: Apache-2.0
"""AWS Signature Version 4 verification of the `Authorization` header (personalize-compat.md §6).

Pure functions over what the server received: the method, the path as sent (still
percent-encoded), the raw query string, the headers and the body. botocore sends no
`x-amz-content-sha256` for these services, so the body is hashed here.
"""

import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "personalize"
MAX_SKEW_S = 300
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]{64})\s*$"
)
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")


class SigV4Error(Exception):
    """A request that fails authentication; `code` and `status` are the AWS error to answer with."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The HMAC chain AWS4+secret → date → region → service → aws4_request."""
    key = _hmac(("AWS4" + secret).encode(), date)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, as botocore's normalize_url_path does."""
    if not path:
        return "/"
    out: list[str] = []
    for seg in path.split("/"):
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
        elif seg:
            out.append(seg)
    joined = "/" + "/".join(out)
    return joined + "/" if path.endswith("/") and joined != "/" else joined


def canonical_uri(raw_path: str) -> str:
    """botocore (non-S3) encodes the already-encoded path once more, keeping `/` and `~`."""
    return quote(_remove_dot_segments(raw_path), safe="/~")


def canonical_query(raw_query: str) -> str:
    """The query pairs as sent, sorted (what botocore signs for a URL that has a query string)."""
    if not raw_query:
        return ""
    pairs = [pair.partition("=")[::2] for pair in raw_query.split("&")]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], signed: list[str], payload_hash: str
) -> str:
    """METHOD, URI, query, `name:value` lines of the signed headers, their names, the body hash."""
    lines = []
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise SigV4Error("IncompleteSignatureException", f"signed header {name!r} is missing", 400)
        lines.append(f"{name}:{' '.join(value.split())}")
    return "\n".join(
        [method.upper(), canonical_uri(raw_path), canonical_query(raw_query), "\n".join(lines) + "\n",
         ";".join(signed), payload_hash]
    )


@dataclass(frozen=True)
class Credential:
    """What a well-formed `Authorization` header names: key, scope, the headers signed, the signature."""

    access_key: str
    secret: str
    date: str
    region: str
    service: str
    amz_date: str
    signed: list[str]
    signature: str


def check_header(
    headers: Mapping[str, str],
    keys: Mapping[str, str],
    now: float | None = None,
    max_skew_s: float = MAX_SKEW_S,
    region_allowed: Callable[[str], bool] = lambda region: True,
) -> Credential:
    """Everything about a SigV4 request that can be checked without its body.

    `headers` must look names up case-insensitively (Starlette's Headers do).

    Raises:
        SigV4Error: missing/malformed header (MissingAuthenticationToken / IncompleteSignature),
            unknown key (UnrecognizedClient), wrong scope or stale date (InvalidSignature).
    """
    auth = headers.get("authorization")
    if not auth:
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token")
    if not auth.startswith(ALGORITHM):
        raise SigV4Error("IncompleteSignatureException", f"only {ALGORITHM} signatures are accepted", 400)
    m = _AUTH.match(auth)
    if m is None:
        raise SigV4Error("IncompleteSignatureException",
                         "Authorization header needs Credential=, SignedHeaders= and Signature=", 400)
    scope = m["cred"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SigV4Error("IncompleteSignatureException", f"malformed credential scope {m['cred']!r}", 400)
    access_key, date, region, service, _ = scope
    if service != SERVICE:
        raise SigV4Error("InvalidSignatureException", f"credential scope service must be {SERVICE!r}, not {service!r}")
    if not _REGION.match(region) or not region_allowed(region):
        raise SigV4Error("InvalidSignatureException", f"region {region!r} is not accepted")
    amz_date = headers.get("x-amz-date")
    if not amz_date:
        raise SigV4Error("IncompleteSignatureException", "X-Amz-Date header is required", 400)
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SigV4Error("IncompleteSignatureException", f"bad X-Amz-Date {amz_date!r}", 400) from None
    if date != amz_date[:8]:
        raise SigV4Error("InvalidSignatureException", "credential scope date differs from X-Amz-Date")
    skew = abs((time.time() if now is None else now) - when.timestamp())
    if skew > max_skew_s:
        raise SigV4Error("InvalidSignatureException",
                         f"Signature expired: X-Amz-Date {amz_date} is {skew:.0f} s from server time")
    secret = keys.get(access_key)
    if secret is None:
        raise SigV4Error("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed = m["signed"].lower().split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise SigV4Error("IncompleteSignatureException", "SignedHeaders must include host and x-amz-date", 400)
    if "x-amz-security-token" in headers and "x-amz-security-token" not in signed:
        raise SigV4Error("IncompleteSignatureException", "x-amz-security-token must be signed", 400)
    return Credential(access_key, secret, date, region, service, amz_date, signed, m["sig"].lower())


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    now: float | None = None,
    max_skew_s: float = MAX_SKEW_S,
    region_allowed: Callable[[str], bool] = lambda region: True,
) -> str:
    """Check the request's SigV4 signature (after `check_header`); returns the access key id.

    Raises:
        SigV4Error: what `check_header` raises, and InvalidSignature for a signature or an
            `x-amz-content-sha256` that does not match.
    """
    c = check_header(headers, keys, now, max_skew_s, region_allowed)
    payload_hash = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared.lower() != payload_hash:
        raise SigV4Error("InvalidSignatureException", "x-amz-content-sha256 does not match the body")
    creq = canonical_request(method, raw_path, raw_query, headers, c.signed, declared or payload_hash)
    scope = f"{c.date}/{c.region}/{c.service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, c.amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    expected = hmac.new(signing_key(c.secret, c.date, c.region, c.service), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, c.signature):
        raise SigV4Error("InvalidSignatureException",
                         "The request signature we calculated does not match the signature you provided.")
    return c.access_key
