# SPDX-License-Identifier: Apache-2.0
"""Workflows that join the store, the models and the registry: train, batch, demo."""
