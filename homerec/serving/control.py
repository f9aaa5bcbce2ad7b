# SPDX-License-Identifier: Apache-2.0
"""Placeholder replaced below."""
CONTENT_TYPE = "application/x-amz-json-1.1"


async def dispatch(request, body):  # pragma: no cover - replaced
    raise NotImplementedError
