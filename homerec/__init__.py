# SPDX-License-Identifier: Apache-2.0
"""homerec: an on-premise recommendation engine that speaks AWS Personalize."""

__version__ = "0.1.0"
