# SPDX-License-Identifier: Apache-2.0
"""The SigV4 verifier against signatures made by botocore's own signer."""

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.datastructures import Headers

from homerec.serving.sigv4 import SigV4Error, verify

AK, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KEYS = {AK: SECRET}


def signed(url: str = "http://127.0.0.1:8123/recommendations", body: bytes = b'{"userId":"u1"}',
           region: str = "eu-west-1", service: str = "personalize", secret: str = SECRET) -> AWSRequest:
    req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(AK, secret), service, region).add_auth(req)
    return req


def check(req: AWSRequest, body: bytes | None = None, now: float | None = None, keys=KEYS) -> str:
    """Verify as the server would see it: encoded path, Host with port, lower-cased headers."""
    parts = urlsplit(req.url)
    headers = {k.lower(): v for k, v in req.headers.items()}
    headers["host"] = parts.netloc
    raw = [(k.encode(), v.encode() if isinstance(v, str) else v) for k, v in headers.items()]
    return verify(req.method, parts.path, parts.query, Headers(raw=raw),
                  req.body if body is None else body, keys, now=now)


def test_botocore_signature_accepted():
    assert check(signed()) == AK


def test_any_region_and_encoded_prefix_accepted():
    assert check(signed(url="http://h:1/my%20base/x/recommendations", region="ap-south-2")) == AK


def test_query_string_signed():
    assert check(signed(url="http://h:1/events?b=2&a=1")) == AK


def test_tampered_body_rejected():
    with pytest.raises(SigV4Error) as err:
        check(signed(), body=b'{"userId":"u2"}')
    assert err.value.code == "InvalidSignatureException" and err.value.status == 403


def test_wrong_secret_rejected():
    with pytest.raises(SigV4Error) as err:
        check(signed(secret="not-the-secret"))
    assert err.value.code == "InvalidSignatureException"


def test_unknown_key_rejected():
    with pytest.raises(SigV4Error) as err:
        check(signed(), keys={"OTHER": SECRET})
    assert err.value.code == "UnrecognizedClientException" and err.value.status == 403


def test_stale_date_rejected():
    req = signed()
    assert check(req, now=time.time() + 299) == AK
    for skew in (301, -301):
        with pytest.raises(SigV4Error) as err:
            check(req, now=time.time() + skew)
        assert err.value.code == "InvalidSignatureException" and "expired" in err.value.message


def test_other_service_scope_rejected():
    with pytest.raises(SigV4Error) as err:
        check(signed(service="personalize-runtime"))
    assert "scope service" in err.value.message


def test_missing_and_malformed_headers():
    with pytest.raises(SigV4Error) as err:
        verify("POST", "/events", "", Headers({}), b"", KEYS)
    assert err.value.code == "MissingAuthenticationTokenException"
    with pytest.raises(SigV4Error) as err:
        verify("POST", "/events", "", Headers({"authorization": "AWS4-HMAC-SHA256 garbage"}), b"", KEYS)
    assert err.value.code == "IncompleteSignatureException" and err.value.status == 400
    req = signed()
    del req.headers["X-Amz-Date"]
    with pytest.raises(SigV4Error) as err:
        check(req)
    assert err.value.code == "IncompleteSignatureException"


def test_settings_parse_env_forms(monkeypatch):
    from homerec.settings import load_settings

    monkeypatch.setenv("HOMEREC_SIGV4_KEYS", "AK1:sec/ret+1, AK2:x")
    monkeypatch.setenv("HOMEREC_CAMPAIGNS", "arn:aws:personalize:eu-west-1:1:campaign/a=active,"
                       "arn:aws:personalize:eu-west-1:1:campaign/b=v2")
    monkeypatch.setenv("HOMEREC_PERSONALIZE_PREFIX", "base/")
    s = load_settings()
    assert s.sigv4_keys == {"AK1": "sec/ret+1", "AK2": "x"}
    assert s.campaigns == {"arn:aws:personalize:eu-west-1:1:campaign/a": "active",
                           "arn:aws:personalize:eu-west-1:1:campaign/b": "v2"}
    assert s.personalize_prefix == "/base" and s.personalize_unsigned is False
    monkeypatch.setenv("HOMEREC_SIGV4_KEYS", "no-separator")
    with pytest.raises(Exception, match="ACCESS_KEY:SECRET"):
        load_settings()
