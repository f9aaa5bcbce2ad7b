# SPDX-License-Identifier: Apache-2.0
"""Model registry: numbered versions on disk with metadata, one active version, rollback."""

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homerec.errors import HomerecError
from homerec.models.base import Recommender

ACTIVE_FILE = "ACTIVE"
HISTORY_FILE = "activations.json"
META_FILE = "meta.json"
MODEL_DIR = "model"
PARTS_DIR = "parts"
"""Companion models of a version (re-orders, baskets, segments): `vN/parts/<name>/`."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version and its metadata (params, validation metrics, data digest, time)."""

    version: str
    path: Path
    meta: dict[str, Any]
    active: bool


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _swap_in(target: Path, save: Callable[[Path], Any]) -> None:
    """Write a model directory with `save` beside `target`, then replace `target` by two renames."""
    new, old = target.with_name(f".{target.name}.new"), target.with_name(f".{target.name}.old")
    shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    save(new)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


class Registry:
    """Versions live in ``root/versions/vN``; ``root/ACTIVE`` names the one serving uses."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "versions").mkdir(parents=True, exist_ok=True)

    def _dir(self, version: str) -> Path:
        return self.root / "versions" / version

    def versions(self) -> list[str]:
        """Version names, oldest first."""
        names = [p.name for p in (self.root / "versions").iterdir() if (p / META_FILE).exists()]
        return sorted(names, key=lambda v: int(v[1:]) if v[1:].isdigit() else 0)

    def register(
        self, model: Recommender, meta: dict[str, Any], activate: bool = True, parts: dict[str, Any] | None = None
    ) -> str:
        """Save a fitted model (and its companion `parts`, each with `save(path)`) as the next version,
        and make it active unless told not to."""
        existing = self.versions()
        version = f"v{int(existing[-1][1:]) + 1 if existing else 1}"
        staging = self.root / "versions" / f".{version}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        model.save(staging / MODEL_DIR)
        for name, part in (parts or {}).items():
            part.save(staging / PARTS_DIR / name)
        full = {"version": version, "model": model.name, "params": model.params(),
                "created_at": int(time.time()), **meta}
        (staging / META_FILE).write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        os.replace(staging, self._dir(version))
        if activate:
            self.promote(version)
        return version

    def info(self, version: str) -> VersionInfo:
        """Metadata of one version; HomerecError names the known versions otherwise."""
        d = self._dir(version)
        if not (d / META_FILE).exists():
            known = ", ".join(self.versions()) or "none"
            raise HomerecError(f"no model version {version!r} in {self.root} (known: {known})")
        return VersionInfo(version, d, json.loads((d / META_FILE).read_text()), version == self.active())

    def list_versions(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        return [self.info(v) for v in self.versions()]

    def active(self) -> str | None:
        """The active version, or None before the first training."""
        f = self.root / ACTIVE_FILE
        return f.read_text().strip() or None if f.exists() else None

    def _history(self) -> list[str]:
        f = self.root / HISTORY_FILE
        return json.loads(f.read_text()) if f.exists() else []

    def promote(self, version: str) -> None:
        """Make `version` the active one."""
        self.info(version)
        if version == self.active():
            return
        history = self._history() + [version]
        _atomic_write(self.root / HISTORY_FILE, json.dumps(history))
        _atomic_write(self.root / ACTIVE_FILE, version)

    def rollback(self) -> str:
        """Re-activate the version that was active before the current one."""
        history = self._history()
        if len(history) < 2:
            raise HomerecError("nothing to roll back to: only one version was ever active")
        history.pop()
        _atomic_write(self.root / HISTORY_FILE, json.dumps(history))
        _atomic_write(self.root / ACTIVE_FILE, history[-1])
        return history[-1]

    def rewrite(self, version: str, model: Recommender, meta_update: dict[str, Any],
                parts: dict[str, Any] | None = None) -> None:
        """Replace a version's saved model (and update its metadata), e.g. after `without_users`;
        `parts` replace companion models of the same names.

        Each new directory is written beside the old one and swapped in by two renames, so a
        reader sees the old model or the new one (or, for an instant, none: it retries).
        """
        d = self.info(version).path
        _swap_in(d / MODEL_DIR, model.save)
        for name, part in (parts or {}).items():
            _swap_in(d / PARTS_DIR / name, part.save)
        meta = {**json.loads((d / META_FILE).read_text()), **meta_update}
        _atomic_write(d / META_FILE, json.dumps(meta, indent=2, sort_keys=True, default=str))

    def load(self, version: str | None = None) -> Recommender:
        """Load a version (default: the active one)."""
        from homerec.models import load_model

        return load_model(self.info(self._version(version)).path / MODEL_DIR)

    def _version(self, version: str | None) -> str:
        version = version or self.active()
        if version is None:
            raise HomerecError(f"no trained model in {self.root}: run `homerec train` first")
        return version

    def parts(self, version: str | None = None) -> list[str]:
        """Names of the companion models saved with a version (default: the active one)."""
        folder = self.info(self._version(version)).path / PARTS_DIR
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def load_part(self, name: str, version: str | None = None, discovery: Recommender | None = None) -> Any:
        """A companion model of a version (default: the active one); a re-order model gets
        `discovery` (the version's model, e.g. from `load`) attached when given.

        Raises:
            HomerecError: the version has no such part (trained by an older homerec, or alone).
        """
        from homerec.models import load_part

        version = self._version(version)
        path = self.info(version).path / PARTS_DIR / name
        if not path.is_dir():
            raise HomerecError(f"model version {version} has no {name} model; retrain it with `homerec train`")
        return load_part(path, discovery)
