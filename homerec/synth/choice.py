# SPDX-License-Identifier: Apache-2.0
"""Draw the items of exploring order lines from customers' tastes, in user chunks."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from homerec.synth.population import Population

CHUNK_USERS = 2048
BLOCK = 32
MAX_ROUNDS = 40


def _exact(pop: Population, rows: np.ndarray, months: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact draws (Gumbel-max over all items) for the few lines rejection sampling left over."""
    out = np.empty(len(rows), dtype=np.int32)
    for a in range(0, len(rows), 1024):
        lg = pop.logits(rows[a : a + 1024], pop=pop.item_logpop[months[a : a + 1024]])
        lg -= np.log(-np.log(rng.random(lg.shape, dtype=np.float32) + np.float32(1e-12)))
        out[a : a + 1024] = lg.argmax(axis=1)
    return out


def _augmented_items(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Item side of one matmul giving proposal logits, padded to whole blocks; and keep odds.

    Columns are [item_vec; best log popularity; one-hot category], so that
    [user_vec, 1, user_cat] @ it = user_vec.item_vec + max_m logpop + user_cat[category].
    """
    n_items, dim = pop.item_vec.shape
    n_pad, n_cat = -(-n_items // BLOCK) * BLOCK, pop.user_cat.shape[1]
    popmax = pop.item_logpop.max(axis=0)
    aug = np.zeros((dim + 1 + n_cat, n_pad), dtype=np.float32)
    aug[:dim, :n_items] = pop.item_vec.T
    aug[dim, :] = -1e4  # padding columns: weight exp(-1e4) = 0
    aug[dim, :n_items] = popmax
    aug[dim + 1 + pop.item_cat.astype(np.intp), np.arange(n_items)] = 1.0
    keep = np.zeros((pop.item_logpop.shape[0], n_pad), dtype=np.float32)
    keep[:, :n_items] = np.exp(pop.item_logpop - popmax)
    return aug, keep


def _chunk(pop: Population, aug, keep, users: np.ndarray, local: np.ndarray, months: np.ndarray, seed) -> np.ndarray:
    """Items for lines of `users` (line i belongs to users[local[i]] and falls in months[i]).

    Proposal: every item at its best month, drawn by a two-level (block, item) inverse CDF;
    a draw is kept with probability (item popularity this month / its best), else redrawn.
    """
    rng = np.random.default_rng(seed)
    left = np.concatenate([pop.user_vec[users], np.ones((len(users), 1), np.float32), pop.user_cat[users]], axis=1)
    w = left @ aug
    w -= w.max(axis=1, keepdims=True)
    np.exp(w, out=w)
    nb = aug.shape[1] // BLOCK
    w = w.reshape(len(users) * nb, BLOCK)  # one row per (user, block of items)
    cum = np.cumsum(np.add.reduce(w, axis=1), dtype=np.float64)  # monotone over all users' blocks
    row_end = cum[(np.arange(len(users)) + 1) * nb - 1]
    row_base = np.concatenate([[0.0], row_end[:-1]])
    upper = np.triu(np.ones((BLOCK, BLOCK), dtype=np.float32))
    out = np.empty(len(local), dtype=np.int32)
    pending = np.arange(len(local))
    for _ in range(MAX_ROUNDS):
        r = local[pending]
        target = row_base[r] + rng.random(len(pending)) * (row_end[r] - row_base[r])
        g = np.clip(np.searchsorted(cum, target, side="right"), r * nb, r * nb + nb - 1)
        rest = target - np.where(g > 0, cum[np.maximum(g - 1, 0)], 0.0)
        block = np.take(w, g, axis=0)
        j = np.minimum(np.count_nonzero(block @ upper <= rest[:, None].astype(np.float32), axis=1), BLOCK - 1)
        item = (g - r * nb) * BLOCK + j
        ok = rng.random(len(pending)) < np.take(keep, months[pending] * keep.shape[1] + item)  # 0 on padding
        ok &= np.take(block.ravel(), np.arange(len(j)) * BLOCK + j) > 0
        out[pending[ok]] = item[ok]
        pending = pending[~ok]
        if len(pending) == 0:
            return out
    out[pending] = _exact(pop, users[local[pending]], months[pending], rng)
    return out


def sample_items(
    pop: Population, rows: np.ndarray, months: np.ndarray, seed: np.random.SeedSequence, threads: int = 2
) -> np.ndarray:
    """Draw one item per line with P(item) proportional to exp(pop.logits(user, month)).

    `rows` must be sorted; chunk k of users draws from the child seed (*seed.spawn_key, k), so
    the result depends neither on `threads` nor on earlier use of `seed`.
    """
    users, starts = np.unique(rows, return_index=True)
    bounds = list(range(0, len(users), CHUNK_USERS))
    seeds = [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k)) for k in range(len(bounds))]
    line_at = np.append(starts, len(rows))
    aug, keep = _augmented_items(pop)

    def job(k: int) -> np.ndarray:
        a = bounds[k]
        u = users[a : a + CHUNK_USERS]
        lo, hi = line_at[a], line_at[a + len(u)]
        return _chunk(pop, aug, keep, u, np.searchsorted(u, rows[lo:hi]), months[lo:hi], seeds[k])

    if threads > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(threads) as ex:
            parts = list(ex.map(job, range(len(bounds))))
    else:
        parts = [job(k) for k in range(len(bounds))]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
