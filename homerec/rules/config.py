# SPDX-License-Identifier: Apache-2.0
"""Rule sets and placements as configured (homerec.toml `[rules.NAME]` and `[placements.NAME]`).

    [rules.storefront]
    filters = ['INCLUDE ItemID WHERE Items.AVAILABLE IN ("true")',
               'INCLUDE ItemID WHERE Items.ASSORTMENT IN (CurrentUser.ASSORTMENT)']
    max_positions = 3            # no boost moves an item up more than this
    category_cap = 3             # at most 3 items of one CATEGORY in a list
    [[rules.storefront.boosts]]
    when = 'Items.BRAND IN ("Acme")'
    positions = 2
    label = "brand Acme"
    [rules.storefront.rotation]
    shown = 5                    # shown 5 times in 14 days without a click: sinks
    days = 14

    [placements.home]
    rules = "storefront"
    [placements.buy-again]
    include_seen = true
    k = 20
"""

from pydantic import BaseModel, ConfigDict, Field

MAX_CANDIDATES = 500
"""The most candidates a rule set asks the model for (as the API's largest list)."""


class Boost(BaseModel):
    """Items matching `when` (one or more Items conditions, as after WHERE) move up `positions`."""

    model_config = ConfigDict(extra="forbid")

    when: str
    """Conditions on the item, as after a filter's WHERE: `Items.BRAND IN ("Acme")`, `Items.MARGIN >= 0.3`."""
    positions: int = Field(ge=1, le=100)
    label: str = ""
    """What the reason says (`boosted: LABEL (+2)`); default: the condition."""


class Rotation(BaseModel):
    """Items shown many times to a user without an event of theirs sink to the end of the candidates."""

    model_config = ConfigDict(extra="forbid")

    shown: int = Field(5, ge=1)
    """Served lists (exposures) that held the item, within `days`."""
    days: float = Field(14.0, gt=0, le=365)


class RuleConfig(BaseModel):
    """One named rule set."""

    model_config = ConfigDict(extra="forbid")

    filters: list[str] = Field(default_factory=list)
    """Always-on filter expressions (each INCLUDE/EXCLUDE … as a request's filter)."""
    boosts: list[Boost] = Field(default_factory=list)
    max_positions: int = Field(3, ge=0, le=100)
    """The most positions all boosts together move one item up."""
    category_cap: int | None = Field(None, ge=1)
    category_column: str = "CATEGORY"
    rotation: Rotation | None = None
    candidates: int = Field(5, ge=1, le=50)
    """How many times `k` candidates the model ranks before the rules (at most 500)."""


class PlacementConfig(BaseModel):
    """A named placement (a slot on a page): which model, rules, filter and list shape answer it."""

    model_config = ConfigDict(extra="forbid")

    version: str = "active"
    """`active` or a registry version (`v3`)."""
    rules: str | None = None
    """The name of a rule set (`[rules.NAME]`)."""
    filter: str | None = None
    """A filter expression applied to every list of the placement (no placeholders)."""
    include_seen: bool = False
    k: int | None = Field(None, ge=1, le=MAX_CANDIDATES)
    """The list length when the request gives none (default: the server's `k`)."""
