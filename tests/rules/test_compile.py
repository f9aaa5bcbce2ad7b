# SPDX-License-Identifier: Apache-2.0
"""Rule sets and placements from the configuration: what compiles, and the clear errors for what does not."""

import pytest

from homerec.errors import ConfigError
from homerec.rules import PlacementConfig, RuleConfig, placements_of
from homerec.rules.compile import check_columns
from homerec.settings import load_settings

CONFIG = """
[rules.storefront]
filters = ['INCLUDE ItemID WHERE Items.AVAILABLE IN ("true")',
           'INCLUDE ItemID WHERE Items.ASSORTMENT IN (CurrentUser.ASSORTMENT)']
category_cap = 3
[[rules.storefront.boosts]]
when = 'Items.BRAND IN ("Acme")'
positions = 2
label = "brand Acme"
[rules.storefront.rotation]
shown = 4

[placements.home]
rules = "storefront"
[placements.buy-again]
include_seen = true
k = 20
version = "v3"
[placements.cheap]
filter = 'INCLUDE ItemID WHERE Items.PRICE <= 10'
"""


def test_rules_and_placements_from_toml(tmp_path):
    path = tmp_path / "homerec.toml"
    path.write_text(CONFIG)
    settings = load_settings(path)
    placements = placements_of(settings.rules, settings.placements)
    home = placements["home"]
    assert home.rules is not None and len(home.rules.filters) == 2 and home.rules.category_cap == 3
    assert home.rules.boosts[0].label == "brand Acme" and home.rules.rotation.shown == 4
    assert home.rules.item_fields() == {"AVAILABLE", "ASSORTMENT", "BRAND", "CATEGORY"}
    again = placements["buy-again"]
    assert (again.include_seen, again.k, again.version, again.rules) == (True, 20, "v3", None)
    assert placements["cheap"].item_filter is not None
    check_columns(placements, ["AVAILABLE", "assortment", "Brand", "CATEGORY", "PRICE"])  # names as filters match them


def test_an_unknown_rule_set_is_a_config_error(tmp_path):
    path = tmp_path / "homerec.toml"
    path.write_text('[placements.home]\nrules = "nope"\n')
    with pytest.raises(ConfigError, match="placements.home: unknown rule set 'nope'"):
        load_settings(path)


def test_a_recommender_naming_an_unknown_placement_is_a_config_error(tmp_path):
    path = tmp_path / "homerec.toml"
    path.write_text('[[dataset_groups]]\narn = "arn:aws:personalize:eu-west-1:1:dataset-group/shop"\n'
                    '[dataset_groups.recommenders."arn:aws:personalize:eu-west-1:1:recommender/r"]\nplacement = "home"\n')
    with pytest.raises(ConfigError, match="names placement 'home', which is not configured"):
        load_settings(path)


@pytest.mark.parametrize("rule, message", [
    ({"filters": ["INCLUDE ItemID WHERE"]}, "rules.r.filters: filter expression"),
    ({"boosts": [{"when": "Items.BRAND IN (", "positions": 1}]}, "rules.r.boosts"),
    ({"boosts": [{"when": 'Interactions.EVENT_TYPE IN ("click")', "positions": 1}]}, "must test Items fields"),
])
def test_a_rule_that_does_not_parse_is_a_config_error(rule, message):
    with pytest.raises(ConfigError, match=message):
        placements_of({"r": RuleConfig.model_validate(rule)}, {"p": PlacementConfig(rules="r")})


def test_a_missing_item_column_is_a_config_error_naming_the_rule_set():
    placements = placements_of({"r": RuleConfig(category_cap=2, filters=['INCLUDE ItemID WHERE Items.INSTOCK IN ("y")'])},
                               {"home": PlacementConfig(rules="r")})
    with pytest.raises(ConfigError) as err:
        check_columns(placements, ["BRAND", "PRICE"])
    assert "placement 'home' (rules.r)" in str(err.value) and "CATEGORY, INSTOCK" in str(err.value)
    check_columns(placements, [])  # no items yet: nothing to check against
