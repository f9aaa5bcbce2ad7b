# SPDX-License-Identifier: Apache-2.0
"""Who may call which route, decided from the headers alone, before a request body is read.

One policy per route, from the route tables: the native operations' `write` / `read_auth`
flags (`homerec.serving.openapi.OPERATIONS`), the Personalize operations (SigV4; its
PutEvents/PutItems/PutUsers are writes), the dashboard's JSON routes. `Gate.refusal` applies
it; `homerec.serving.body.BodyMiddleware` calls it before reading a body, so a client without
a valid key or signature cannot hold a request slot or a megabyte of buffer.

- `x-api-key` (native routes; when `api_keys` is set): writes always need one, reads only with
  `read_requires_key`. Keys are compared in constant time.
- The dashboard's JSON (`/dashboard/api/…`, which shows any user's recent events) and the segment
  routes (`private` operations: lists of customers) need a key whenever `api_keys` is set,
  whatever `read_requires_key` says. The dashboard page itself holds no data.
- Personalize: a request with an `Authorization` header must carry a well-formed SigV4
  header of a configured key dated within the allowed skew (the signature itself covers the
  body hash, so `personalize.py` checks it once the body is in). Unsigned requests are
  accepted only with `personalize_unsigned`, and then follow the `x-api-key` policy above:
  writes need a key when `api_keys` is set, so the unsigned mode never opens the store to
  writers without one.
"""

import hmac
import re
from dataclasses import dataclass
from enum import Enum

from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from homerec.serving import openapi
from homerec.serving.sigv4 import SigV4Error, check_header
from homerec.settings import Settings

API_KEY_HEADER = openapi.API_KEY_HEADER
DASHBOARD_API = "/dashboard/api/"


class Access(Enum):
    """What a route asks of its callers."""

    OPEN = "open"
    READ = "read"
    WRITE = "write"
    DASHBOARD = "dashboard"
    PERSONALIZE_READ = "personalize-read"
    PERSONALIZE_WRITE = "personalize-write"

    @property
    def personalize(self) -> bool:
        """Whether errors on this route are answered in the AWS format."""
        return self in (Access.PERSONALIZE_READ, Access.PERSONALIZE_WRITE)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: HTTP status, the AWS error code, a message."""

    status: int
    code: str
    message: str


def route_access(path: str, method: str, personalize_paths: dict[str, bool]) -> Access:
    """The access policy of one route (its path template and method)."""
    op = openapi.OPERATIONS.get((path, method))
    if op is not None:
        if op.private:
            return Access.DASHBOARD
        return Access.WRITE if op.write else Access.READ if op.read_auth else Access.OPEN
    if path.startswith(DASHBOARD_API):
        return Access.DASHBOARD
    if path in personalize_paths:
        return Access.PERSONALIZE_WRITE if personalize_paths[path] else Access.PERSONALIZE_READ
    return Access.OPEN


class Gate:
    """The access policy of an app's routes and the credential checks that need no body."""

    def __init__(self, settings: Settings, routes: list[BaseRoute], personalize_paths: dict[str, bool]) -> None:
        """`personalize_paths`: every Personalize path → whether its operation writes."""
        self.settings = settings
        self._by_method: dict[str, list[tuple[re.Pattern[str], Access]]] = {}
        for route in routes:
            if isinstance(route, Route):
                for method in route.methods or ():
                    access = route_access(route.path, method, personalize_paths)
                    self._by_method.setdefault(method, []).append((route.path_regex, access))

    def access(self, scope: Scope) -> Access:
        """The policy of the route `scope` goes to (OPEN when none matches: the router answers 404/405).

        The routes' own path patterns, matched in the router's order against the path the
        router sees (without the ASGI `root_path`).
        """
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        for pattern, access in self._by_method.get(scope["method"], ()):
            if pattern.match(path):
                return access
        return Access.OPEN

    def refusal(self, access: Access, headers: Headers) -> Refusal | None:
        """Why a request with these headers may not call a route of this policy (None: it may)."""
        s = self.settings
        if access is Access.OPEN:
            return None
        if access.personalize:
            if "authorization" in headers:
                return self._sigv4(headers)
            if not s.personalize_unsigned:
                if s.sigv4_keys:
                    return Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
                return Refusal(403, "MissingAuthenticationTokenException",
                               "the Personalize API is disabled: configure HOMEREC_SIGV4_KEYS "
                               "(or HOMEREC_PERSONALIZE_UNSIGNED=true on a trusted network)")
            access = Access.WRITE if access is Access.PERSONALIZE_WRITE else Access.READ
        needs_key = bool(s.api_keys) and (access is not Access.READ or s.read_requires_key)
        return self._api_key(headers) if needs_key else None

    def _api_key(self, headers: Headers) -> Refusal | None:
        given = headers.get(API_KEY_HEADER)
        if not given:
            return Refusal(401, "MissingAuthenticationTokenException",
                           f"missing API key: send it in the {API_KEY_HEADER} header")
        if not any(hmac.compare_digest(given.encode(), k.encode()) for k in self.settings.api_keys):
            return Refusal(403, "UnrecognizedClientException", "invalid API key")
        return None

    def _sigv4(self, headers: Headers) -> Refusal | None:
        if not self.settings.sigv4_keys:
            return Refusal(403, "UnrecognizedClientException",
                           "no SigV4 access keys are configured on this server (HOMEREC_SIGV4_KEYS)")
        try:
            check_header(headers, self.settings.sigv4_keys)
        except SigV4Error as err:
            return Refusal(err.status, err.code, err.message)
        return None
