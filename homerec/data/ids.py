# SPDX-License-Identifier: Apache-2.0
"""IdMap: a frozen two-way map between external string ids and dense indices."""

from collections.abc import Iterable, Sequence

import numpy as np

from homerec.errors import UnknownItem, UnknownUser


class IdMap:
    """External ids (str) ⇄ dense indices 0..n-1, in insertion order.

    Args:
        ids: distinct external ids; their order fixes the indices.
        kind: "user" or "item", used only to raise the right error type.
    """

    __slots__ = ("_ids", "_index", "kind")

    def __init__(self, ids: Iterable[str], kind: str = "item") -> None:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=str)
        self._ids = arr
        self._index = {s: i for i, s in enumerate(arr.tolist())}
        if len(self._index) != len(arr):
            raise ValueError("IdMap ids must be distinct")
        self.kind = kind

    @classmethod
    def from_ids(cls, ids: Iterable[str], kind: str = "item") -> "IdMap":
        """Build from ids that may repeat, keeping the first occurrence order."""
        return cls(list(dict.fromkeys(str(i) for i in ids)), kind)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self._index

    def extend(self, new_ids: Iterable[str]) -> "IdMap":
        """Return a map with new ids appended; existing indices are unchanged."""
        extra = [i for i in dict.fromkeys(str(x) for x in new_ids) if i not in self._index]
        if not extra:
            return self
        return IdMap(np.concatenate([self._ids, np.asarray(extra, dtype=str)]), self.kind)

    def get(self, external_id: str, default: int = -1) -> int:
        """Index of one id, or `default` when unknown."""
        return self._index.get(external_id, default)

    def to_idx(self, external_ids: Sequence[str] | str, strict: bool = True) -> np.ndarray | int:
        """Translate ids to indices; unknown ids raise (strict) or map to -1."""
        if isinstance(external_ids, str):
            idx = self._index.get(external_ids, -1)
            if idx < 0 and strict:
                raise self._unknown(external_ids)
            return idx
        out = np.fromiter((self._index.get(str(i), -1) for i in external_ids), dtype=np.int64)
        if strict and (out < 0).any():
            raise self._unknown(str(external_ids[int(np.argmin(out))]))
        return out

    def to_ids(self, idx: np.ndarray | Sequence[int]) -> list[str]:
        """Translate indices back to external ids."""
        return self._ids[np.asarray(idx, dtype=np.int64)].tolist()

    @property
    def ids(self) -> np.ndarray:
        """The ids as a numpy string array, in index order."""
        return self._ids

    def _unknown(self, external_id: str) -> KeyError:
        if self.kind == "user":
            return UnknownUser(f"unknown user id {external_id!r}")
        return UnknownItem(f"unknown item id {external_id!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self._ids, other._ids)

    def __repr__(self) -> str:
        return f"IdMap({self.kind}, n={len(self)})"
