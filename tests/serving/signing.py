# SPDX-License-Identifier: Apache-2.0
"""SigV4-signed raw requests for tests, signed by botocore's own signer (what boto3 clients send)."""

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AK, SECRET, REGION = "AKIAFUZZ", "fuzz/secret+key", "eu-west-1"
DATASET_ITEMS = "arn:aws:personalize:eu-west-1:123456789012:dataset/shop/ITEMS"
DATASET_USERS = "arn:aws:personalize:eu-west-1:123456789012:dataset/shop/USERS"
CAMPAIGN = "arn:aws:personalize:eu-west-1:123456789012:campaign/shop"


def signed_headers(url: str, body: bytes, key: str = AK, secret: str = SECRET) -> dict[str, str]:
    """Headers of a POST of `body` to `url` signed as botocore signs Personalize calls."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "personalize", REGION).add_auth(request)
    return dict(request.headers.items())
