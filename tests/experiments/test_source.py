# SPDX-License-Identifier: Apache-2.0
"""The SOURCE grammar shared by experiments and `homerec compare`."""

import pytest

from homerec.errors import InputError
from homerec.experiments.source import Source, parse_source
from homerec.experiments.spec import VARIANT_KINDS

ARN = "arn:aws:personalize:eu-west-1:1:campaign/shop"


def test_every_form_parses():
    assert parse_source("model:active") == Source("model", "active")
    assert parse_source("model:v3") == Source("model", "v3")
    assert parse_source("model:v3").model_version == "v3" and parse_source("model:v3").endpoint is None
    assert parse_source("file:out/recs.json.out") == Source("file", "out/recs.json.out")
    src = parse_source(f"endpoint:http://127.0.0.1:8000/base#{ARN}")
    assert src == Source("endpoint", "http://127.0.0.1:8000/base", ARN)
    assert src.endpoint == ("http://127.0.0.1:8000/base", ARN) and src.model_version is None
    assert str(src) == f"endpoint:http://127.0.0.1:8000/base#{ARN}"


@pytest.mark.parametrize("bad", [
    "active", "modle:v1", "model:", "model:v0", "model:latest", "file:", "file:  ", "endpoint:http://h:1",
    "endpoint:h:1#arn:x", "endpoint:http://h#nope", "endpoint:ftp://h#arn:x", "endpoint:http://h #arn:x", 3,
])
def test_bad_sources_name_the_forms(bad):
    with pytest.raises(InputError, match="bad source"):
        parse_source(bad)


def test_variants_take_no_files():
    with pytest.raises(InputError, match="model:active, model:vN, endpoint:"):
        parse_source("file:recs.jsonl", VARIANT_KINDS)
