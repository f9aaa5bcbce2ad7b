# SPDX-License-Identifier: Apache-2.0
"""Turn item metadata columns into a sparse feature matrix: categorical, banded numeric, TF-IDF text."""

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.schema import MULTI_VALUE_SEP, Col

TEXT_HINTS = ("DESCRIPTION", "TITLE", "NAME", "TAGS", "TEXT", "KEYWORDS")
N_BANDS = 5
MAX_TEXT_FEATURES = 20_000


def _kind(name: str, values: pl.Series) -> str:
    """'text', 'numeric', 'categorical' or 'skip' for one metadata column."""
    v = values.drop_nulls()
    if v.len() == 0:
        return "skip"
    if any(h in name.upper() for h in TEXT_HINTS):
        return "text"
    as_num = v.cast(pl.Float64, strict=False)
    if as_num.null_count() <= 0.1 * v.len():
        return "numeric"
    if v.str.count_matches(" ").mean() >= 3:
        return "text"
    if v.n_unique() > 0.5 * v.len() and v.len() > 50:
        return "skip"  # an id-like column carries no shared signal
    return "categorical"


def _categorical(name: str, values: pl.Series) -> tuple[sp.csr_matrix, list[str]]:
    exploded = values.fill_null("").str.split(MULTI_VALUE_SEP)
    lists = [[f"{name}={x.strip()}" for x in row if x.strip()] for row in exploded.to_list()]
    vocab = sorted({t for row in lists for t in row})
    col = {t: j for j, t in enumerate(vocab)}
    rows = np.repeat(np.arange(len(lists)), [len(r) for r in lists])
    cols = np.fromiter((col[t] for r in lists for t in r), dtype=np.int64, count=len(rows))
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(lists), len(vocab)))
    return m, vocab


def _numeric(name: str, values: pl.Series) -> tuple[sp.csr_matrix, list[str]]:
    x = values.cast(pl.Float64, strict=False).to_numpy()
    finite = np.isfinite(x)
    if finite.sum() == 0:
        return sp.csr_matrix((len(x), 0), dtype=np.float32), []
    edges = np.unique(np.quantile(x[finite], np.linspace(0, 1, N_BANDS + 1)[1:-1]))
    band = np.searchsorted(edges, np.where(finite, x, 0.0))
    rows = np.flatnonzero(finite)
    m = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, band[rows])), shape=(len(x), len(edges) + 1)
    )
    return m, [f"{name}=band{b}" for b in range(len(edges) + 1)]


def _text(name: str, values: pl.Series) -> tuple[sp.csr_matrix, list[str]]:
    docs = values.fill_null("").str.replace_all(r"\|", " ").to_list()
    if not any(d.strip() for d in docs):
        return sp.csr_matrix((len(docs), 0), dtype=np.float32), []
    vec = TfidfVectorizer(min_df=2 if len(docs) > 50 else 1, max_features=MAX_TEXT_FEATURES,
                          sublinear_tf=True, dtype=np.float32)
    try:
        m = vec.fit_transform(docs)
    except ValueError:  # empty vocabulary (every term pruned)
        return sp.csr_matrix((len(docs), 0), dtype=np.float32), []
    return sp.csr_matrix(m), [f"{name}:{t}" for t in vec.get_feature_names_out()]


BUILDERS = {"categorical": _categorical, "numeric": _numeric, "text": _text}


def build_item_features(frame: pl.DataFrame, items: IdMap) -> ItemFeatures:
    """Features of every item in `items`; each column block is row-normalised, then the whole row."""
    id_col = next(c for c in frame.columns if c.lower() == Col.item_id)
    frame = frame.with_columns(pl.col(id_col).cast(pl.String)).unique(id_col, keep="last", maintain_order=True)
    blocks, names = [], []
    for name in frame.columns:
        if name == id_col or name.lower().endswith("timestamp"):
            continue
        values = frame[name].cast(pl.String)
        kind = _kind(name, values)
        if kind == "skip":
            continue
        m, vocab = BUILDERS[kind](name, values)
        if m.shape[1]:
            blocks.append(normalize(m, norm="l2", axis=1))
            names += vocab
    n = frame.height
    local = sp.hstack(blocks, format="csr", dtype=np.float32) if blocks else sp.csr_matrix((n, 0), dtype=np.float32)
    local = normalize(local, norm="l2", axis=1) if local.shape[1] else local
    src = items.to_idx(frame[id_col].to_list(), strict=False)
    keep = np.flatnonzero(src >= 0)
    place = sp.csr_matrix(
        (np.ones(len(keep), np.float32), (src[keep], keep)), shape=(len(items), n)
    )
    return ItemFeatures(sp.csr_matrix(place @ local, dtype=np.float32), names, items)
