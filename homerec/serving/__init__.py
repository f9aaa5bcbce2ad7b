# SPDX-License-Identifier: Apache-2.0
"""HTTP serving: `create_app(settings)` builds the Starlette app (native API, Personalize API, dashboard, metrics).

A read, from route to score (GET /v1/users/C42/recommendations):

1. `body.BodyMiddleware` checks the caller's key before any body (`access.Gate`); the overload
   guard counts the request; `native.recommendations` builds one frozen `request.Request`
   (user, k, exclusions, filter, include_seen, …). The Personalize adapter builds the same
   `Request` from GetRecommendations, after SigV4 and the campaign ARN → dataset group, runtime
   and model version mapping (`groups`, `group_runtimes`), with the fields only Personalize asks
   for: its score scale, metadata columns, a promotion. A placement (`GET /v1/placements/{name}/users/{id}`,
   or a recommender ARN whose entry names one) fills the `Request` from its configuration
   (`placements`): model version, filter, include_seen, k, and its rule set (`homerec.rules`).
2. `router.answer(router, req)`: `Router.cached(req)` on the event loop, else
   `Router.scored(req)` on a worker thread. With an experiment running, the router picks the
   user's variant (pins `req.version`) and logs the exposure (`exposures.ExposureLog`: an
   append); otherwise it hands the request on unchanged.
3. `service.RecService.cached(req)`: the batch's list from memory (`served_lists`), if the model
   version matches, the user has no change since (`freshness`, fed by the store's change feed)
   and no product was added since (`catalog`). `RecService.scored(req)`: the user's history
   from the store, filters, then `model.recommend` of the version (`versions`), extended with
   products added after training (`catalog`); with a rule set, the model's wider top-N, then
   rotation, boosts and the category cap (`homerec.rules.rerank`). A request with rules is never
   answered from memory; a placement without rules is (and logged as the placement's exposure).
   An account's list (`GET /v1/accounts/{id}/recommendations`) and, with `account_pooling`, a
   buyer's are scored from the buyers' pooled events (`accounts`).
   Then, for requests that ask: exploration gives a share of a user's slots to young products
   with few events (`exploration`), promotions fill their slots (`promotions`), Personalize-scale
   scores (`homerec.models.relative`), item metadata from the catalogue (`item_metadata`); an
   INCLUDE filter over the user's own interactions is a buy-again list (`buy_again`).
4. The `Answer` goes back to the adapter, which writes JSON (errors: one table, `errors`).

The Personalize control plane (`control`: `POST /`, JSON 1.1) lists and describes the dataset
groups' resources and starts long jobs as `homerec personalize-job` processes (`jobs`); their
records live in the store.

Writes (events, metadata, deletion) go through `writes.Writes`: committed before the answer,
announced to every worker and replica by the store's change feed, or with a shared cache
(`--cache redis://…`, `homerec.cache`) by its stream, which also carries the batch's lists. What a process runs is
started and stopped in the app's lifespan (`runtime.Runtime`). Layering inside this package is
checked by import-linter (pyproject.toml): adapters → deps → runtime → router → service and
writes → the state they read → `request`.
"""

from homerec.serving.app import create_app

__all__ = ["create_app"]
