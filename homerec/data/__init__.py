# SPDX-License-Identifier: Apache-2.0
"""Pure in-memory data structures: id maps, interactions, item features."""
