# SPDX-License-Identifier: Apache-2.0
"""Where a list of recommendations comes from: the one grammar of SOURCE strings, and the endpoint client.

    model:active | model:vN        a registry version (the active one, or version N)
    file:PATH                      AWS Personalize batch-inference output (JSON lines, or a folder of them)
    endpoint:URL#CAMPAIGN_ARN      GetRecommendations on a Personalize-compatible server (boto3)

Experiment variants accept `model:` and `endpoint:` sources; `homerec compare` accepts all three.
`runtime_client` builds the boto3 client every endpoint source is called with: credentials from
boto3's usual chain (environment, profile, instance role), unsigned when there are none (which
homerec's server accepts with `HOMEREC_PERSONALIZE_UNSIGNED=true`).
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from homerec.errors import InputError

KINDS = ("model", "file", "endpoint")
MODEL_TARGET = re.compile(r"active|v[1-9][0-9]*")
ENDPOINT = re.compile(r"(https?://[^\s#]+)#(arn:\S+)")
FORMS = {
    "model": "model:active, model:vN",
    "file": "file:PATH",
    "endpoint": "endpoint:http(s)://HOST[:PORT][/PATH]#CAMPAIGN_ARN",
}


@dataclass(frozen=True)
class Source:
    """A parsed SOURCE string: its kind, target (version, path or URL) and an endpoint's campaign ARN."""

    kind: str
    target: str
    arn: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" + (f"#{self.arn}" if self.arn else "")

    @property
    def model_version(self) -> str | None:
        """`active` or `vN` for a `model:` source, else None."""
        return self.target if self.kind == "model" else None

    @property
    def endpoint(self) -> tuple[str, str] | None:
        """(URL, campaign ARN) for an `endpoint:` source, else None."""
        return (self.target, self.arn) if self.kind == "endpoint" else None


def forms(kinds: Collection[str] = KINDS) -> str:
    """The accepted forms of `kinds`, for messages."""
    return ", ".join(FORMS[k] for k in KINDS if k in kinds)


def parse_source(text: str, kinds: Collection[str] = KINDS) -> Source:
    """Parse a SOURCE string of one of `kinds`.

    Raises:
        InputError: not a source of those kinds; the message lists the accepted forms.
    """
    if not isinstance(text, str):
        raise InputError(f"bad source {text!r}: expected {forms(kinds)}")
    kind, sep, rest = text.partition(":")
    if not sep or kind not in kinds:
        raise InputError(f"bad source {text!r}: expected {forms(kinds)}")
    if kind == "model" and MODEL_TARGET.fullmatch(rest):
        return Source(kind, rest)
    if kind == "file" and rest.strip():
        return Source(kind, rest.strip())
    if kind == "endpoint" and (match := ENDPOINT.fullmatch(rest)):
        return Source(kind, match.group(1), match.group(2))
    raise InputError(f"bad source {text!r}: expected {FORMS[kind]}")


def runtime_client(url: str, timeout_s: float, pool: int = 10, attempts: int = 1) -> tuple[Any, bool]:
    """A `personalize-runtime` boto3 client for `url`, and whether it signs its requests.

    `timeout_s` bounds connecting and each read; `attempts` counts the first try (1: no retry).
    boto3 is imported here, so processes that never call an endpoint never load it.
    """
    import boto3
    import botocore
    from botocore.config import Config

    session = boto3.Session()
    signed = session.get_credentials() is not None
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, max_pool_connections=pool,
                    retries={"max_attempts": attempts, "mode": "standard"})
    if not signed:
        config = config.merge(Config(signature_version=botocore.UNSIGNED))
    client = session.client("personalize-runtime", endpoint_url=url, region_name=session.region_name or "us-east-1",
                            config=config)
    return client, signed
