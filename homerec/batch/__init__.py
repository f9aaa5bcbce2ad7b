# SPDX-License-Identifier: Apache-2.0
"""Offline inference: every user's top-k and every item's similar items, in chunks."""
