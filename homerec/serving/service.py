# SPDX-License-Identifier: Apache-2.0
"""What a read does, free of HTTP and of experiments: the batch's list when it still holds, else the live model.

Two entry points over one `Request`:

- `cached(req)`: runs on the event loop and touches nothing but memory. A user's list (or an
  item's similar items) from the batch, when it was made by the model version asked for, no
  change of the user's since (`Freshness`), no product added since, and it is long enough
  after the exclusions. Otherwise None.
- `scored(req)`: runs on a worker thread. Reads what the store knows of the user (one point
  read), applies filters, answers from the batch's list when it still holds, or scores live
  (fold-in when the user has events after training, the popularity fallback for users
  without history), and keeps the user's own items out unless `include_seen`. A buy-again read
  (native `include_seen=true`, or a filter keeping only the user's own items) is answered by the
  version's re-order model (`homerec.serving.buy_again`). A cart's complements are the version's
  basket model's (`homerec.serving.baskets`).

Every answer says where it came from (`source`) and which model version produced it.
"""

import logging
import time
from dataclasses import replace

import polars as pl

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.errors import UnknownItem
from homerec.filters import BoundFilter, FilterData, evaluate
from homerec.models import relative
from homerec.models.base import FALLBACK_REASON, Recommender
from homerec.rules import CompiledRules, rerank
from homerec.serving import accounts, baskets, buy_again, exploration, item_metadata, promotions
from homerec.serving.catalog import Catalog
from homerec.serving.filter_data import store_data
from homerec.serving.freshness import Freshness
from homerec.serving.request import BASKET, CACHE, FALLBACK, MODEL, PERSONALIZE, RANK, SIMILAR, USER, Answer, Request
from homerec.serving.served_lists import ServedLists
from homerec.serving.versions import Loaded, Versions
from homerec.storage.base import Store
from homerec.types import Recommendation

log = logging.getLogger(__name__)


class RecService:
    """The reads of the API over a store, the loaded model versions and the batch's lists."""

    def __init__(self, store: Store, versions: Versions, catalog: Catalog, lists: ServedLists,
                 freshness: Freshness, exploration_refresh_s: float = 60.0) -> None:
        self.store, self.versions, self.catalog = store, versions, catalog
        self.lists, self.freshness = lists, freshness
        self.pools = exploration.Pools(store, catalog, exploration_refresh_s)

    # -- from memory (event loop) ---------------------------------------------------------------
    def cached(self, req: Request) -> Answer | None:
        """The batch's answer to `req` when it holds and nothing needs the store, else None."""
        if not req.plain:
            return None
        loaded = self.versions.get(req.version)
        if loaded is None:
            return None
        if req.kind == USER:
            if not self.freshness.current():
                return None  # a commit this worker has not applied yet: the thread path catches up first
            return self._from_list(req, loaded, USER_RECS, req.user_id, req.exclude)
        return self._from_list(req, loaded, SIMILAR_ITEMS, req.item_id, req.exclude)

    def _from_list(self, req: Request, loaded: Loaded, namespace: str, key: str | None,
                   banned: frozenset[str] | set[str]) -> Answer | None:
        table = self.lists.table(namespace)
        row = table.rows.get(key) if key is not None else None
        if row is None or table.versions[table.version_code[row]] != loaded.version:
            return None
        if self.catalog.new_since(loaded.model) >= table.computed_at[row]:
            return None  # products added since the batch ran: scored live, they may belong in the list
        if namespace == USER_RECS and not self.freshness.is_fresh(key, int(table.feed_seq[row])):
            return None  # the user changed since the batch read their events
        n = int(table.lengths[row])
        vocab = table.vocab_list
        ids = [vocab[i] for i in table.items[row, :n].tolist()]  # slices and lists: numpy fancy indexing costs µs
        raw = table.scores[row, :n].tolist()
        s10 = table.score10[row, :n].tolist() if table.score10 is not None else [float("nan")] * n
        if banned or key in ids:
            keep = [j for j, i in enumerate(ids) if i not in banned and i != key][: req.k]
            ids, raw, s10 = [ids[j] for j in keep], [raw[j] for j in keep], [s10[j] for j in keep]
        else:
            ids, raw, s10 = ids[: req.k], raw[: req.k], s10[: req.k]
        if len(ids) < req.k:
            return None  # too short for this request after the exclusions: the model has more
        if s10 and s10[0] != s10[0]:  # NaN: this version's scores were not precomputed
            s10 = loaded.model.score10_many(raw)
        reason = f"{loaded.model.name} (precomputed)" if namespace == USER_RECS else f"similar to {key} (precomputed)"
        items = [Recommendation(i, v, t, reason) for i, v, t in zip(ids, raw, s10)]
        return _min_score(Answer(items, CACHE, loaded.version), req.min_score)

    # -- scored (worker thread) -----------------------------------------------------------------
    def scored(self, req: Request) -> Answer:
        """The answer to `req`, reading the store and scoring as needed (call off the event loop)."""
        loaded = self.versions.load(req.version)
        who = self._who(req, loaded) if req.kind not in (SIMILAR, BASKET) else None
        if req.kind == SIMILAR:
            answer = self._similar(req, loaded)
        elif req.kind == BASKET:
            answer = self._basket(req, loaded)
        elif req.rules is not None and req.kind == USER:
            answer = self._ruled(req, loaded, who)
        elif req.kind == RANK:
            answer = self._rank(req, loaded)
        else:
            answer = self._user(req, loaded, who)
        answer = _min_score(answer, req.min_score)
        return answer if req.plain else self._extras(req, loaded, answer, who)

    def _who(self, req: Request, loaded: Loaded) -> tuple[str | None, list[str]]:
        """The user as the model scores them (None: folded in from the history) and their stored items
        (an account's, or a buyer's pooled with their account's: folded in, `homerec.serving.accounts`)."""
        buyers = accounts.pooled(req, self.catalog)
        if buyers is not None:
            own = req.user_id if req.account_pooling == "buyer+account" else None
            return None, accounts.pooled_history(self.store, buyers, own)
        if req.user_id is None:
            return None, []
        items, last_ts = self.store.user_items(req.user_id)
        # Events after the training cut-off: fold the user in from the full stored history.
        newer = last_ts is not None and (loaded.trained_until is None or last_ts > loaded.trained_until)
        return (None if newer else req.user_id), items

    def _user(self, req: Request, loaded: Loaded, who: tuple[str | None, list[str]] | None) -> Answer:
        """A user's list, or an account's (kind `account`: the pooled history, never the batch's list)."""
        assert who is not None
        model, banned = self._model_and_banned(req, loaded)
        if not req.include_seen and req.kind == USER and accounts.pooled(req, self.catalog) is None:
            if not self.freshness.current():
                self.freshness.sync()
            answer = self._from_list(req, loaded, USER_RECS, req.user_id, banned)
            if answer is not None:
                return answer
        user, items = who
        if not req.include_seen:
            banned |= set(items)
        elif items:
            answer = self._buy_again(req, loaded, model, banned, who)
            if answer is not None:
                return answer
        try:
            recs = model.recommend(user, req.k, exclude=banned, history=items, exclude_seen=not req.include_seen)
        except Exception:  # a scoring failure degrades to popularity, never to an error
            log.exception("model %s failed for user %r; serving the fallback", loaded.version, req.user_id)
            recs = model.recommend(None, req.k, exclude=banned, history=None)
            return Answer(_as_fallback(recs), FALLBACK, loaded.version)
        cold = bool(recs) and all(r.reason == FALLBACK_REASON for r in recs)
        return Answer(recs, FALLBACK if cold or not recs else MODEL, loaded.version)

    def _buy_again(self, req: Request, loaded: Loaded, model: Recommender, banned: set[str],
                   who: tuple[str | None, list[str]]) -> Answer | None:
        """A buy-again list (`homerec.serving.buy_again`) when `req` asks for one: a filter keeping only
        the user's own items, or the native `include_seen=true`; None otherwise (and for an account's
        pooled list, which the model ranks as it is)."""
        if req.user_id is None:
            return None
        user, items = who
        bought = buy_again.only_bought(self.catalog.item_ids(model), banned, items) if req.item_filter else None
        if bought is None and not req.buy_again:
            return None
        if loaded.reorder is not None:
            events = self.store.history(req.user_id)
            recs = buy_again.reorder_list(loaded.reorder, model, req.user_id, events, req.k, banned, bought)
            return Answer(recs, MODEL, loaded.version)
        if bought is not None:  # a version without a re-order model: its own scores rank the user's items
            return Answer(buy_again.rank_bought(model, user, items, bought, req.k), MODEL, loaded.version)
        return None

    def _ruled(self, req: Request, loaded: Loaded, who: tuple[str | None, list[str]] | None) -> Answer:
        """A user's list under business rules: the model's wider top candidates (the rules' filters already
        applied), then rotation, boosts and the category cap (`homerec.rules.rerank`)."""
        rules = req.rules
        assert rules is not None and req.user_id is not None
        answer = self._user(req._replace(k=rules.pool(req.k)), loaded, who)
        data = store_data(self.store, self.catalog, req.user_id)
        try:
            shown = self._unclicked_shown(rules, req.user_id, data) if rules.rotation is not None else {}
            items = rerank(rules, answer.items, req.k, data, shown)
        except Exception:  # a rule that fails on odd metadata costs the re-ranking, never the answer
            log.exception("rules %s failed for user %r; serving the model's order", rules.name, req.user_id)
            items = answer.items[: req.k]
        return replace(answer, items=items)

    def _unclicked_shown(self, rules: CompiledRules, user_id: str, data: FilterData) -> dict[str, int]:
        """Item → lists that showed it to the user in the rotation window, for items the user has no event on since."""
        assert rules.rotation is not None
        since = int(time.time() - rules.rotation.days * 86400)
        shown = self.store.shown_counts(user_id, since)
        if not shown:
            return shown
        history = data.get("history")
        touched = set(history.filter(pl.col(Col.ts) >= since)[Col.item_id].to_list()) if history.height else set()
        return {i: n for i, n in shown.items() if i not in touched}

    def _similar(self, req: Request, loaded: Loaded) -> Answer:
        assert req.item_id is not None
        model, banned = self._model_and_banned(req, loaded)
        answer = self._from_list(req, loaded, SIMILAR_ITEMS, req.item_id, banned)
        if answer is not None:
            return answer
        try:
            return Answer(model.similar_items(req.item_id, req.k, exclude=banned), MODEL, loaded.version)
        except UnknownItem:
            if req.unknown_item != "popular":
                raise
        # An item the model does not know gets the popular items (as Personalize's SIMS does).
        recs = model.recommend(None, req.k, exclude=banned | {req.item_id}, history=None)
        return Answer(recs, FALLBACK, loaded.version)

    def _basket(self, req: Request, loaded: Loaded) -> Answer:
        """A cart's complements (`req.item_ids`), the user's stored history for their habits when known."""
        basket = baskets.basket_model(loaded)
        _, banned = self._model_and_banned(req, loaded)
        events = self.store.history(req.user_id) if req.user_id is not None else None
        recs = baskets.complements(basket, req.item_ids, req.k, events, banned)
        known = any(i in basket.items_ for i in req.item_ids) or (events is not None and events.height > 0)
        return Answer(recs, MODEL if known else FALLBACK, loaded.version)

    def _rank(self, req: Request, loaded: Loaded) -> Answer:
        assert req.user_id is not None
        model = self.catalog.model(loaded.model)
        item_ids = list(req.item_ids)
        if req.item_filter is not None:
            keep = evaluate(req.item_filter, store_data(self.store, self.catalog, req.user_id))
            item_ids = [i for i in item_ids if keep.keeps(i)]
            if not item_ids:
                return Answer([], MODEL, loaded.version)
        items, last_ts = self.store.user_items(req.user_id)
        newer = last_ts is not None and (loaded.trained_until is None or last_ts > loaded.trained_until)
        recs = model.rank(None if newer else req.user_id, item_ids, history=items)
        cold = any(r.reason == FALLBACK_REASON for r in recs)
        return Answer(recs, FALLBACK if cold else MODEL, loaded.version)

    # -- what Personalize adds: exploration, promotions, its score scale, item metadata -----------
    def _extras(self, req: Request, loaded: Loaded, answer: Answer, who: tuple[str | None, list[str]] | None) -> Answer:
        model = self.catalog.model(loaded.model)
        items = answer.items
        if req.explores:
            items = self._explored(req, loaded, model, items, who)
        if req.promotion is not None and req.kind != RANK:
            promoted = self._promoted(req, model, who)
            items = promotions.merge(items, promoted, req.k, req.promotion.name, answer.recommendation_id)
        if req.scale == PERSONALIZE:
            items = _relative(req, model, items, who)
        if req.metadata_columns:
            items = item_metadata.attach(self.catalog.items(), req.metadata_columns, items)
        return replace(answer, items=items)

    def _explored(self, req: Request, loaded: Loaded, model: Recommender, items: list[Recommendation],
                  who: tuple[str | None, list[str]] | None) -> list[Recommendation]:
        """The list with its exploration slots filled (`homerec.serving.exploration`)."""
        assert req.exploration is not None
        key = req.user_id or req.account_id or ""
        n = exploration.slots(req.k, req.exploration.weight)
        pool = self.pools.get(model, loaded.trained_until, req.exploration) if n else None
        if pool is None or not pool.ids:
            return items
        user, history = who or (None, [])
        banned = set(req.exclude) | {r.item_id for r in items}
        if not req.include_seen:
            banned |= set(history)
        if req.item_filter is not None:
            banned |= self._filtered_out(model, req.item_filter, req.user_id)
        day = exploration.day_of()
        try:
            explored = exploration.choose(model, pool, user, key, history, banned, n, day)
        except Exception:  # exploration never costs the user their list
            log.exception("exploration failed for %r; serving the list without it", key)
            return items
        if req.min_score is not None:
            explored = [r for r in explored if r.score10 >= req.min_score]
        return exploration.merge(items, explored, req.k, key, day) if explored else items

    def _promoted(self, req: Request, model: Recommender, who: tuple[str | None, list[str]] | None) -> list:
        """The promotion's best items for this request (its filter, not the request's), as many as its slots."""
        assert req.promotion is not None
        n = promotions.slots(req.k, req.promotion.percent)
        banned = set(req.exclude)
        if req.promotion.item_filter is not None:
            banned |= self._filtered_out(model, req.promotion.item_filter, req.user_id)
        if req.kind == SIMILAR:
            assert req.item_id is not None
            try:
                return model.similar_items(req.item_id, n, exclude=banned)
            except UnknownItem:
                return model.recommend(None, n, exclude=banned | {req.item_id}, history=None)
        user, items = who or (None, [])
        if not req.include_seen:
            banned |= set(items)
        return model.recommend(user, n, exclude=banned, history=items, exclude_seen=not req.include_seen)

    def _model_and_banned(self, req: Request, loaded: Loaded) -> tuple[Recommender, set[str]]:
        """The version's model (with new products) and the items the request leaves out (exclusions, filter)."""
        model = self.catalog.model(loaded.model)
        banned = set(req.exclude)
        for item_filter in (req.item_filter, *(req.rules.filters if req.rules is not None else ())):
            if item_filter is not None:
                banned |= self._filtered_out(model, item_filter, req.user_id)
        return model, banned

    def _filtered_out(self, model: Recommender, item_filter: BoundFilter, user_id: str | None) -> set[str]:
        """The model's items that `item_filter` removes for this user (evaluated on the live store)."""
        selection = evaluate(item_filter, store_data(self.store, self.catalog, user_id))
        return selection.excluded(self.catalog.item_ids(model))

    # -- health -----------------------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        """Whether a model is loaded and the store answers, with the reason when not."""
        if self.versions.current is None:  # why (paths, versions) is in the log: answers stay free of it
            return False, "no model loaded" + (" (the server log says why)" if self.versions.last_error else "")
        try:
            self.store.get_recs(READYZ_NAMESPACE, "readyz")  # a namespace nothing writes: one index probe
        except Exception as err:
            log.warning("readiness: the store does not answer: %s", err)
            return False, "store unreachable (see the server log)"
        return True, "ok"


READYZ_NAMESPACE = "homerec:readyz"


def _min_score(answer: Answer, min_score: float | None) -> Answer:
    if min_score is None:
        return answer
    return replace(answer, items=[r for r in answer.items if r.score10 >= min_score])


def _relative(req: Request, model: Recommender, items: list[Recommendation],
              who: tuple[str | None, list[str]] | None) -> list[Recommendation]:
    """Items with their Personalize-scale score: none for similar items, complements and fallback items."""
    if req.kind in (SIMILAR, BASKET) or not items:
        return items
    if req.kind == RANK:
        known = [not r.reason.startswith(buy_again.UNSCORED) and r.reason != FALLBACK_REASON for r in items]
        if not any(known):
            return items
        scores = relative.ranking_scores(model, [r.score for r in items], known)
        return [replace(r, relative=s if ok else 0.0) for r, s, ok in zip(items, scores, known)]
    if all(r.relative is not None for r in items):  # a buy-again list brings its own (`ReorderModel.explain`)
        return items
    user, history = who or (None, [])
    log_z = relative.user_log_partition(model, user, history)
    warm = [r.reason != FALLBACK_REASON for r in items]
    if log_z is None or not any(warm):
        return items
    scores = relative.relative(model, [[r.score for r in items]], [log_z])[0].tolist()
    return [replace(r, relative=s) if ok else r for r, s, ok in zip(items, scores, warm)]


def _as_fallback(recs: list[Recommendation]) -> list[Recommendation]:
    return [Recommendation(r.item_id, r.score, r.score10, FALLBACK_REASON) for r in recs]
