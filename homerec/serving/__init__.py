# SPDX-License-Identifier: Apache-2.0
"""HTTP serving: `create_app(settings)` builds the Starlette app (native API, health, metrics)."""

from homerec.serving.app import create_app

__all__ = ["create_app"]
