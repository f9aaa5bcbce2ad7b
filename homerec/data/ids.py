# SPDX-License-Identifier: Apache-2.0
"""IdMap: a frozen two-way map between external string ids and dense indices.

Ids are kept exactly as given: in a numpy object array of Python strings, never in numpy's
fixed-width `str` dtype, which drops trailing NULs (`"P1\\0"` would become `"P1"` and
collide with it). On disk (`to_arrays` / `from_arrays`) a map is its ids' UTF-8 bytes
and their end offsets: plain integer arrays that `np.savez` writes and `np.load` reads
with `allow_pickle=False`, every byte kept.
"""

from collections.abc import Iterable, Sequence

import numpy as np

from homerec.errors import UnknownItem, UnknownUser

_UTF8, _ENDS = "utf8", "ends"


def _object_array(ids: Iterable[str]) -> np.ndarray:
    """A 1-d object array of the ids as Python strings."""
    values = [str(i) for i in ids]
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


class IdMap:
    """External ids (str) ⇄ dense indices 0..n-1, in insertion order.

    Args:
        ids: distinct external ids; their order fixes the indices.
        kind: "user" or "item", used only to raise the right error type.
    """

    __slots__ = ("_ids", "_index", "kind")

    def __init__(self, ids: Iterable[str], kind: str = "item") -> None:
        arr = _object_array(ids.tolist() if isinstance(ids, np.ndarray) else ids)
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
        return IdMap([*self._ids.tolist(), *extra], self.kind)

    def without(self, drop: Iterable[str]) -> tuple["IdMap", np.ndarray]:
        """The map without some ids, and the old indices of the ids kept (in their order).

        Kept ids keep their relative order; unknown ids in `drop` are ignored.
        """
        gone = {self._index[i] for i in drop if i in self._index}
        keep = np.array([i for i in range(len(self._ids)) if i not in gone], dtype=np.int64)
        return IdMap(self._ids[keep].tolist(), self.kind), keep

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
        """The ids as a numpy object array of str, in index order."""
        return self._ids

    # -- artifacts ---------------------------------------------------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The ids as `{prefix}.utf8` (every id's UTF-8 bytes, concatenated) and `{prefix}.ends` (end offsets)."""
        encoded = [s.encode("utf-8", "surrogatepass") for s in self._ids.tolist()]
        ends = np.cumsum([len(b) for b in encoded], dtype=np.int64) if encoded else np.zeros(0, np.int64)
        return {f"{prefix}.{_UTF8}": np.frombuffer(b"".join(encoded), dtype=np.uint8),
                f"{prefix}.{_ENDS}": ends}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, kind: str) -> "IdMap":
        """The map `to_arrays(prefix)` wrote; also reads the older layout (a numpy `str` array named `prefix`)."""
        if prefix in arrays:  # artifacts written before the byte-exact layout
            return cls(arrays[prefix].tolist(), kind)
        data = arrays[f"{prefix}.{_UTF8}"].tobytes()
        ends = arrays[f"{prefix}.{_ENDS}"].tolist()
        starts = [0, *ends][: len(ends)]
        return cls([data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends, strict=True)], kind)

    def _unknown(self, external_id: str) -> KeyError:
        if self.kind == "user":
            return UnknownUser(f"unknown user id {external_id!r}")
        return UnknownItem(f"unknown item id {external_id!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._ids.tolist() == other._ids.tolist()

    def __repr__(self) -> str:
        return f"IdMap({self.kind}, n={len(self)})"
