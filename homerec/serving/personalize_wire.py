# SPDX-License-Identifier: Apache-2.0
"""What the Personalize adapters share: SigV4, JSON bodies, filter ARNs, model versions, item shapes.

Wire details: `shared/design/personalize-compat.md` §3–§6.
"""

import re
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest

from homerec.errors import HomerecError
from homerec.filters import BoundFilter, FilterError, bind, parse
from homerec.models.base import FALLBACK_REASON
from homerec.serving import deps, jsontext
from homerec.serving import personalize_schemas as ps
from homerec.serving.errors import ApiError, invalid, not_found
from homerec.serving.groups import Groups
from homerec.serving.request import Answer
from homerec.serving.sigv4 import SigV4Error, verify
from homerec.serving.versions import ACTIVE, Versions
from homerec.settings import Settings

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
POPULAR_ITEM, PROMOTED_ITEM, EXPLORATION = "Popular item", "Promoted item", "Exploration"
"""The `reason` values Personalize gives a popular placeholder, a promoted item and an explored one."""


def authenticate(request: HttpRequest, settings: Settings, body: bytes) -> None:
    """The SigV4 signature, when one is sent (its header form was checked before the body)."""
    if "authorization" not in request.headers:
        return  # unsigned: only reaches here in unsigned mode (`access.Gate`)
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        verify(request.method, raw_path.decode("latin-1"), request.scope.get("query_string", b"").decode("latin-1"),
               request.headers, body, settings.sigv4_keys)
    except SigV4Error as err:
        raise ApiError(err.status, err.code, err.message) from None


def parse_body(model: type[BaseModel], body: bytes) -> Any:
    """The body as `model`: SerializationException for bad JSON, InvalidInputException for bad fields."""
    try:
        data = jsontext.loads(body) if body else {}
    except ValueError as err:  # bad JSON or UTF-8, NaN/Infinity, 1e400, nested too deep, a lone surrogate
        raise ApiError(400, "SerializationException", f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "SerializationException", "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise invalid(deps.validation_message(err)) from None


async def load_version(versions: Versions, version: str, arn: str) -> str | None:
    """The model version `arn` answers with (None: the active one), loaded off the event loop."""
    if version == ACTIVE:
        return None
    if versions.get(version) is None:
        try:
            await run_in_threadpool(versions.load, version)
        except HomerecError as err:
            raise not_found(f"{arn} maps to model version {version}, which cannot be loaded: {err}") from None
    return version


async def bound_filter(groups: Groups, filter_arn: str | None, values: dict[str, str] | None) -> BoundFilter | None:
    """The expression of a filter ARN with its filterValues filled in (None: no filter)."""
    if filter_arn is None:
        return None
    _, expression = await run_in_threadpool(groups.filter, filter_arn)
    try:
        return bind(parse(expression), values)
    except FilterError as err:
        raise invalid(str(err)) from None


def predicted_items(found: Answer) -> list[dict[str, Any]]:
    """`PredictedItem`s: a score on Personalize's scale when the item has one, reasons, promotion, metadata."""
    out = []
    for r in found.items:
        item: dict[str, Any] = {"itemId": r.item_id}
        if r.relative is not None:
            item["score"] = r.relative
        reasons = []
        if r.promotion is not None:
            item["promotionName"] = r.promotion
            reasons.append(PROMOTED_ITEM)
        if r.reason == FALLBACK_REASON:
            reasons.append(POPULAR_ITEM)
        if r.exploration:
            reasons.append(EXPLORATION)
        if reasons:
            item["reason"] = reasons
        if r.metadata is not None:
            item["metadata"] = dict(r.metadata)
        out.append(item)
    return out


def column(key: str) -> str:
    """camelCase property → dataset column (`categoryL1` → CATEGORY_L1); UPPER_CASE stays."""
    return _CAMEL.sub("_", key).upper()


def metadata(properties: str | None, what: str) -> dict[str, Any]:
    """A `properties` JSON string as dataset columns."""
    return {column(k): v for k, v in ps.parse_properties(properties, what).items()}
