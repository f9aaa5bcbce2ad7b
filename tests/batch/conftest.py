# SPDX-License-Identifier: Apache-2.0
"""Batch tests reuse the model fixtures (the checkerboard)."""

from tests.models.conftest import checkerboard, item_features  # noqa: F401
