# SPDX-License-Identifier: Apache-2.0
"""Records of the Personalize control plane: filters, solution versions, campaign switches, jobs.

One row per resource, keyed by its ARN: its kind (`homerec.data.schema.Resource`), the dataset
group it belongs to, a status string (`ACTIVE`, `CREATE PENDING`, …) and a JSON document with
everything `Describe*` answers. They live in the store, so every replica can describe what
another created, and a background job (a `homerec` command in its own process) reports its
progress by writing its row. Every function here runs inside the caller's transaction.
"""

import json
from typing import Any, NamedTuple

import sqlalchemy as sa

from homerec.data.schema import Col
from homerec.storage.tables import resources


class ResourceRow(NamedTuple):
    """One stored resource."""

    arn: str
    kind: str
    group: str
    status: str
    doc: dict[str, Any]
    created_at: int
    updated_at: int


_COLUMNS = (Col.arn, Col.kind, Col.group, Col.status, Col.doc, Col.created_at, Col.updated_at)


def _row(values: Any) -> ResourceRow:
    arn, kind, group, status, doc, created, updated = values
    return ResourceRow(arn, kind, group, status, json.loads(doc), int(created), int(updated))


def put(conn: sa.Connection, arn: str, kind: str, group: str, status: str, doc: dict[str, Any], now: int) -> None:
    """Insert or replace a resource; `created_at` is kept when it exists."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    changed = conn.execute(
        sa.update(resources).where(resources.c[Col.arn] == arn)
        .values({Col.kind: kind, Col.group: group, Col.status: status, Col.doc: text, Col.updated_at: now})
    ).rowcount
    if not changed:
        conn.execute(sa.insert(resources).values({
            Col.arn: arn, Col.kind: kind, Col.group: group, Col.status: status, Col.doc: text,
            Col.created_at: now, Col.updated_at: now,
        }))


def get(conn: sa.Connection, arn: str) -> ResourceRow | None:
    """The resource with this ARN, or None."""
    found = conn.execute(sa.select(*(resources.c[c] for c in _COLUMNS)).where(resources.c[Col.arn] == arn)).first()
    return None if found is None else _row(found)


def listed(conn: sa.Connection, kind: str, group: str | None = None) -> list[ResourceRow]:
    """Every resource of a kind (of one dataset group), oldest first."""
    query = sa.select(*(resources.c[c] for c in _COLUMNS)).where(resources.c[Col.kind] == kind)
    if group is not None:
        query = query.where(resources.c[Col.group] == group)
    return [_row(r) for r in conn.execute(query.order_by(resources.c[Col.created_at], resources.c[Col.arn]))]


def delete(conn: sa.Connection, arn: str) -> bool:
    """Remove a resource; whether it existed."""
    return conn.execute(sa.delete(resources).where(resources.c[Col.arn] == arn)).rowcount > 0
