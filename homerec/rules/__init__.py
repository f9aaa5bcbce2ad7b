# SPDX-License-Identifier: Apache-2.0
"""Business rules: what a placement's list must obey after the model has ranked its candidates.

Configured in homerec.toml as named rule sets (`[rules.NAME]`, `config.RuleConfig`) that
placements name (`[placements.NAME] rules = "NAME"`, `config.PlacementConfig`), compiled once at
start (`compile.compile_rules`: every filter parsed and bound, every column checked against the
catalogue, so a typo is a clear error at start, never a 500), and applied on the scored path by
`rerank.rerank` to the model's top candidates (more than `k`, so rules have room to act):

1. always-on filters (`filters`): filter expressions in the Personalize syntax that every list
   of the placement obeys (only available items; an entitled assortment through
   `Items.ASSORTMENT IN (CurrentUser.ASSORTMENT)`); applied with the request's own filter, before
   the model picks candidates;
2. rotation (`rotation`): items shown to the user at least `shown` times in the last `days`
   without an event of the user on them sink to the end of the candidates;
3. bounded boosts (`boosts`): an item matching a boost's condition moves up by its `positions`,
   at most `max_positions` in all, and never past more items than that; its reason says so
   (`boosted: brand Acme (+2)`);
4. a per-category cap (`category_cap`): no more than N items of one value of `category_column`
   in the list; the next best fill the freed slots.

This package reads item metadata frames and filter data; it knows nothing of HTTP or the store
(the serving layer hands it what it reads), and serving imports it, never the reverse.
"""

from homerec.rules.compile import CompiledRules, compile_rules, placements_of
from homerec.rules.config import Boost, PlacementConfig, Rotation, RuleConfig
from homerec.rules.rerank import rerank

__all__ = ["Boost", "CompiledRules", "PlacementConfig", "Rotation", "RuleConfig", "compile_rules", "placements_of",
           "rerank"]
