# SPDX-License-Identifier: Apache-2.0
"""The `endpoint:` compare source against a real homerec server, through real boto3 (signed and unsigned)."""

from pathlib import Path

import pytest

from homerec.errors import InputError
from homerec.models.registry import Registry
from homerec.pipeline.compare import run_compare
from homerec.storage import open_store
from tests.serving.conftest import make_settings
from tests.live import serve_app as serve

AK, SECRET = "AKIACOMPARE", "compare/secret+key"
CAMPAIGN = "arn:aws:personalize:eu-west-1:123456789012:campaign/shop"
UNKNOWN = "arn:aws:personalize:eu-west-1:123456789012:campaign/nope"
# As `model:active` lists them: the user's own items left out (Personalize's default leaves them in).
GROUPS = [{"arn": "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop",
           "campaigns": {CAMPAIGN: {"exclude": "purchased"}}}]


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """No credentials anywhere boto3 looks (environment, files, instance metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def users_file(world, tmp_path) -> Path:
    path = tmp_path / "users.txt"
    path.write_text("\n".join(world["cached_users"][:60]) + "\nnobody-at-all\n")
    return path


def _compare(world, b: str, users: Path, **kw) -> dict:
    store = open_store(world["store_url"])
    try:
        return run_compare(store, Registry(world["artifacts"]), "model:active", b, k=10, users_file=users, **kw)
    finally:
        store.close()


def test_an_unsigned_server_gives_the_models_lists(world, users_file, no_aws_credentials):
    with serve(make_settings(world, personalize_unsigned=True, dataset_groups=GROUPS)) as url:
        r = _compare(world, f"endpoint:{url}#{CAMPAIGN}", users_file)
    source = r["b"]["source"]
    assert source["signed"] is False and source["errors"] == 0 and source["users_answered"] == 61
    assert source["declared_fallback_share"] == pytest.approx(1 / 61)  # "nobody-at-all" gets "Popular item"
    assert r["pair"]["n_users"] == 61 and r["pair"]["overlap_at_k"] == 1.0
    assert r["b"]["fallback_suspected"] is False


def test_a_signed_server_with_credentials_from_the_environment(world, users_file, no_aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with serve(make_settings(world, sigv4_keys={AK: SECRET}, dataset_groups=GROUPS)) as url:
        r = _compare(world, f"endpoint:{url}#{CAMPAIGN}", users_file)
        assert r["b"]["source"]["signed"] is True and r["pair"]["overlap_at_k"] == 1.0
        with pytest.raises(InputError, match=f"did not answer GetRecommendations for {UNKNOWN}"):
            _compare(world, f"endpoint:{url}#{UNKNOWN}", users_file)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
        with pytest.raises(InputError, match="did not answer"):
            _compare(world, f"endpoint:{url}#{CAMPAIGN}", users_file)
