# SPDX-License-Identifier: Apache-2.0
"""Item-item neighbours: cosine and BM25 through implicit, RP3beta in sparse blocks."""

import time

import numpy as np
import pytest
import scipy.sparse as sp

from homerec.errors import ConfigError
from homerec.models.item_knn import ItemKNN, item_similarity, rp3beta, sparse_top_k
from tests.models.contract import PersonalizedContract


SIMILARITIES = ["cosine", "bm25", "rp3beta"]


@pytest.mark.parametrize("similarity", SIMILARITIES)
class TestItemKNN(PersonalizedContract):
    @pytest.fixture(autouse=True)
    def _similarity(self, similarity):
        self.similarity = similarity

    def make(self):
        return ItemKNN(similarity=self.similarity, k_neighbors=5)


def _random_users(n_users: int, n_items: int, density: float, seed: int = 0) -> sp.csr_matrix:
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float32)
    X.data[:] = 1.0
    return X


@pytest.mark.parametrize("similarity", SIMILARITIES)
def test_similarity_is_top_k_bounded_without_diagonal(similarity):
    X = _random_users(300, 80, 0.1)
    W = item_similarity(X, similarity, k=7)
    assert W.shape == (80, 80)
    assert W.dtype == np.float32
    assert np.diff(W.indptr).max() <= 7
    assert W.diagonal().sum() == 0.0
    assert W.data.min() > 0


@pytest.mark.parametrize("similarity", ["cosine", "bm25"])
def test_untruncated_similarity_is_symmetric(similarity):
    X = _random_users(300, 40, 0.1)
    W = item_similarity(X, similarity, k=40)
    if similarity == "bm25":  # BM25 weighs each item row on its own: symmetric in support only
        np.testing.assert_array_equal((W > 0).toarray(), (W.T > 0).toarray())
    else:
        np.testing.assert_allclose(W.toarray(), W.T.toarray(), atol=1e-5)


def test_cosine_matches_a_dense_computation():
    X = _random_users(200, 30, 0.2)
    W = item_similarity(X, "cosine", k=29).toarray()
    D = X.toarray()
    D /= np.maximum(np.linalg.norm(D, axis=0), 1e-12)
    C = D.T @ D
    np.fill_diagonal(C, 0.0)
    np.testing.assert_allclose(W, C, atol=1e-5)


def test_rp3beta_matches_a_dense_computation():
    X = _random_users(200, 30, 0.2)
    W = rp3beta(X, k=29, alpha=0.8, beta=0.3).toarray()
    D = X.toarray()
    P_ui = (D / np.maximum(D.sum(axis=1, keepdims=True), 1e-12)) ** 0.8
    P_iu = (D.T / np.maximum(D.T.sum(axis=1, keepdims=True), 1e-12)) ** 0.8
    ref = (P_iu @ P_ui) / np.maximum(D.sum(axis=0), 1.0) ** 0.3
    np.fill_diagonal(ref, 0.0)
    np.testing.assert_allclose(W, ref, rtol=1e-4, atol=1e-7)


def test_rp3beta_on_20k_items_is_fast_and_bounded():
    rng = np.random.default_rng(3)
    n_events = 800_000
    X = sp.csr_matrix(
        (np.ones(n_events, np.float32), (rng.integers(0, 40_000, n_events), rng.integers(0, 20_000, n_events))),
        shape=(40_000, 20_000),
    )
    started = time.perf_counter()
    W = rp3beta(X, k=50)
    elapsed = time.perf_counter() - started
    assert W.shape == (20_000, 20_000)
    assert np.diff(W.indptr).max() <= 50
    assert W.nnz <= 50 * 20_000
    assert elapsed < 30.0


def test_sparse_top_k_keeps_the_largest():
    m = sp.csr_matrix(np.array([[0.1, 0.5, 0.3, 0.0], [0.0, 0.2, 0.0, 0.0], [0.4, 0.4, 0.9, 0.8]], np.float32))
    top = sparse_top_k(m, 2).toarray()
    expected = np.array([[0.0, 0.5, 0.3, 0.0], [0.0, 0.2, 0.0, 0.0], [0.0, 0.0, 0.9, 0.8]], dtype=np.float32)
    np.testing.assert_array_equal(top, expected)


def test_scores_are_history_times_similarity(checkerboard):
    model = ItemKNN(similarity="cosine", k_neighbors=5).fit(checkerboard)
    hist = checkerboard.to_csr()[:4]
    np.testing.assert_allclose(model._score(np.arange(4), hist), (hist @ model.W_).toarray(), rtol=1e-6)


def test_bad_similarity_is_a_config_error(checkerboard):
    with pytest.raises(ConfigError):
        ItemKNN(similarity="pearson").fit(checkerboard)
