# SPDX-License-Identifier: Apache-2.0
"""The quality settings as the objects training and evaluation take: the breadth constraint, the non-product rule."""

from homerec.evaluation.breadth import Breadth
from homerec.models.item_rule import NonProductRule
from homerec.settings import Settings


def breadth_of(settings: Settings) -> Breadth:
    """The accuracy-with-breadth constraint of `blend_max_item_share` and `blend_min_coverage_ratio`."""
    return Breadth(settings.blend_max_item_share, settings.blend_min_coverage_ratio)


def rule_of(settings: Settings) -> NonProductRule:
    """The non-product rule of the `non_product_*` settings (empty when none is set)."""
    return NonProductRule(settings.non_product_id_pattern, tuple(settings.non_product_categories),
                          settings.non_product_nonpositive_price, tuple(settings.non_product_ids))
