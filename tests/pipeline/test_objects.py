# SPDX-License-Identifier: Apache-2.0
"""s3:// paths of control-plane jobs: a local folder, and an S3 protocol server (moto's, started here)."""

import boto3
import pytest

from homerec.errors import ConfigError, InputError
from homerec.pipeline.objects import Objects, join, split
from homerec.settings import Settings
from tests.live import s3_server


def _roundtrip(objects: Objects, tmp_path) -> None:
    got = objects.fetch("s3://shop-recs/in/", tmp_path / "a")
    assert [p.name for p in got] == ["one.json", "two.json"] and got[0].read_text() == "1\n"
    (single,) = objects.fetch("s3://shop-recs/in/two.json", tmp_path / "b")
    assert single.read_text() == "2\n"
    objects.put(single, join("s3://shop-recs/out/", "two.json.out"))
    (back,) = objects.fetch("s3://shop-recs/out/two.json.out", tmp_path / "c")
    assert back.read_text() == "2\n"
    with pytest.raises(InputError):
        objects.fetch("s3://shop-recs/nothing-here/", tmp_path / "d")


def test_a_local_folder(tmp_path):
    root = tmp_path / "root"
    (root / "shop-recs" / "in").mkdir(parents=True)
    (root / "shop-recs" / "in" / "one.json").write_text("1\n")
    (root / "shop-recs" / "in" / "two.json").write_text("2\n")
    _roundtrip(Objects(Settings(s3_root=root)), tmp_path)


def test_an_s3_compatible_server(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with s3_server() as url:
        s3 = boto3.client("s3", endpoint_url=url)
        s3.create_bucket(Bucket="shop-recs")
        s3.put_object(Bucket="shop-recs", Key="in/one.json", Body=b"1\n")
        s3.put_object(Bucket="shop-recs", Key="in/two.json", Body=b"2\n")
        _roundtrip(Objects(Settings(s3_endpoint=url)), tmp_path)


def test_paths_that_leave_the_root_or_are_not_s3_are_refused():
    for bad in ("s3://../etc/passwd", "s3://bucket/../../x", "/etc/passwd", "s3://UPPER/x", "http://b/x"):
        with pytest.raises(InputError):
            split(bad)
    with pytest.raises(ConfigError):
        Objects(Settings())
