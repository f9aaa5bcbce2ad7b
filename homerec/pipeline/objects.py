# SPDX-License-Identifier: Apache-2.0
"""`s3://BUCKET/KEY` paths of control-plane jobs: a local folder, or an S3-compatible object store.

- `HOMEREC_S3_ROOT=/srv/s3`: `s3://bucket/in/users.json` is the file `/srv/s3/bucket/in/users.json`.
- `HOMEREC_S3_ENDPOINT=http://minio:9000`: the object store at that URL, through boto3's S3
  client (credentials from the usual AWS variables or files, path-style addressing).

A path names one object, or every object under it when it ends with `/` or names a folder
(a prefix), as Personalize reads a batch job's input. `fetch` copies what a path names into
a local folder; `put` writes a local file to a path.
"""

import shutil
from pathlib import Path

from homerec.campaigns import parse_s3_url
from homerec.errors import ConfigError, InputError
from homerec.settings import Settings


def split(url: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://` URL; InputError otherwise (`homerec.campaigns.parse_s3_url`)."""
    try:
        return parse_s3_url(url)
    except ValueError as err:
        raise InputError(str(err)) from None


class Objects:
    """Reads and writes `s3://` paths as the settings say (`s3_root` or `s3_endpoint`)."""

    def __init__(self, settings: Settings) -> None:
        if settings.s3_endpoint is None and settings.s3_root is None:
            raise ConfigError("s3:// paths need HOMEREC_S3_ROOT (a local folder) or HOMEREC_S3_ENDPOINT "
                              "(an S3-compatible object store)")
        self.root = settings.s3_root
        self.endpoint = settings.s3_endpoint
        self._client = None

    def _s3(self):  # noqa: ANN202 - a botocore client
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("s3", endpoint_url=self.endpoint,
                                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))
        return self._client

    def _local(self, url: str) -> Path:
        bucket, key = split(url)
        assert self.root is not None
        return Path(self.root) / bucket / key

    def fetch(self, url: str, into: Path) -> list[Path]:
        """Copy the object at `url`, or every object under it, into the folder `into`; the local files, sorted."""
        into.mkdir(parents=True, exist_ok=True)
        if self.endpoint is None:
            source = self._local(url)
            files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
            if not source.exists() or not files:
                raise InputError(f"{url} names nothing under {self.root}")
            out = []
            for f in files:
                target = into / (f.relative_to(source) if source.is_dir() else f.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
                out.append(target)
            return sorted(out)
        bucket, key = split(url)
        client = self._s3()
        keys = [key] if key and not key.endswith("/") and _exists(client, bucket, key) else \
            _list(client, bucket, key.rstrip("/") + "/" if key else "")
        if not keys:
            raise InputError(f"{url} names no object in {self.endpoint}")
        out = []
        for k in keys:
            target = into / Path(k).name
            client.download_file(bucket, k, str(target))
            out.append(target)
        return sorted(out)

    def put(self, local: Path, url: str) -> None:
        """Write a local file to `url` (an object key)."""
        if self.endpoint is None:
            target = self._local(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            return
        bucket, key = split(url)
        self._s3().upload_file(str(local), bucket, key)


def join(prefix: str, name: str) -> str:
    """`name` under an `s3://` prefix (a slash between them)."""
    return prefix.rstrip("/") + "/" + name


def _exists(client, bucket: str, key: str) -> bool:  # noqa: ANN001
    from botocore.exceptions import ClientError

    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def _list(client, bucket: str, prefix: str) -> list[str]:  # noqa: ANN001
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")]
    return sorted(keys)
