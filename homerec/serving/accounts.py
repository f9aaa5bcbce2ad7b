# SPDX-License-Identifier: Apache-2.0
"""Accounts: a bill-to account with several buyers, its lists made from the buyers' pooled events.

B2B customers order through several people (a site manager, a workshop, the office) for one
bill-to account. A user's metadata may name it: the users column `ACCOUNT_ID` (users.csv, PUT
/v1/users/{id}, PutUsers `properties` `{"accountId": "…"}`). `homerec.serving.catalog` keeps
the account → buyers index of its users snapshot and the account's metadata (the users
columns its buyers agree on), so filters and rules can read account attributes.

- `GET /v1/accounts/{account_id}/recommendations`: the account's history is the union of its
  buyers' events; the list is the model's fold-in of that history (404 for an account no user
  names).
- A buyer's own list (`GET /v1/users/{id}/recommendations`) follows `account_pooling`: `off`
  (their own events, as before), `account` (the account's pooled events: every buyer of an
  account gets the account's list), `buyer+account` (the buyer's own events counted twice, the
  other buyers' once: the buyer's taste first, the account's next).

An account's lists are scored live (the batch lists buyers, not accounts); what the account
already bought stays out unless `include_seen`. At most `MAX_BUYERS` buyers are pooled (the
first ones of the users table), so one huge account cannot make a request read without bound.
"""

from homerec.errors import UnknownAccount
from homerec.serving.catalog import Catalog
from homerec.serving.request import ACCOUNT, POOLING_OFF, Request
from homerec.storage.base import Store

MAX_BUYERS = 200
OWN_WEIGHT = 2
"""`buyer+account`: how many times a buyer's own events count against the other buyers' once."""


def pooled_history(store: Store, buyers: tuple[str, ...], own: str | None = None) -> list[str]:
    """The buyers' items, oldest first per buyer; `own`'s `OWN_WEIGHT` times (one point read per buyer)."""
    items: list[str] = []
    for buyer in buyers[:MAX_BUYERS]:
        items += store.user_items(buyer)[0] * (OWN_WEIGHT if buyer == own else 1)
    return items


def pooled(req: Request, catalog: Catalog) -> tuple[str, ...] | None:
    """The buyers whose events make this request's history, or None when it is the user's own.

    Raises:
        UnknownAccount: An account request for an account no user names.
    """
    if req.kind == ACCOUNT:
        assert req.account_id is not None
        buyers = catalog.account_buyers(req.account_id)
        if not buyers:
            raise UnknownAccount(f"no user has ACCOUNT_ID {req.account_id!r} (set it in users.csv or PUT /v1/users/…)")
        return buyers
    if req.account_pooling == POOLING_OFF or req.user_id is None:
        return None
    account = catalog.user_account(req.user_id)
    return catalog.account_buyers(account) if account is not None else None
