# SPDX-License-Identifier: Apache-2.0
"""What an A/B experiment is: variants with traffic shares, a mode and a status, as immutable values.

An experiment compares a control (usually `model:active`) with one or more candidates. Each
variant's `source` says where its lists come from:

- `model:active`: the model version the registry marks active (what serving uses anyway);
- `model:vN`: one registered model version;
- `endpoint:URL#CAMPAIGN_ARN`: an external Personalize-compatible endpoint, called with
  `GetRecommendations(campaignArn=CAMPAIGN_ARN)` and given up on after `timeout_ms`
  (serving then falls back to the control).

(The grammar is `homerec.experiments.source`'s, shared with `homerec compare`.)

Modes:

- `split`: each user is served the variant `homerec.experiments.assign.assign` picks.
- `shadow`: every user is served the control; for users whose assigned variant is not the
  control, that variant's list is also computed and logged (exposure with `served=False`) but
  not shown. The shares thus decide which users get a shadow list computed: with 10 %, one
  user in ten costs a second computation.

Operations (`with_traffic`, `in_mode`, `stopped`, `rolled_back`) return a new `Experiment`;
the CLI stores it, and servers pick it up on their next reload, no restart needed.
"""

import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal, Protocol

from homerec.errors import InputError
from homerec.experiments.source import parse_source

Mode = Literal["shadow", "split"]
Status = Literal["running", "stopped", "rolled_back"]
MODES: tuple[Mode, ...] = ("shadow", "split")
STATUSES: tuple[Status, ...] = ("running", "stopped", "rolled_back")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
VARIANT_KINDS = ("model", "endpoint")
SHARE_TOLERANCE = 1e-9


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"bad {kind} name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


@dataclass(frozen=True)
class Variant:
    """One arm of an experiment: where its lists come from and its share of the traffic (0..1)."""

    name: str
    source: str
    share: float
    timeout_ms: int = 300
    """For `endpoint:` sources: how long to wait before falling back to the control."""

    def __post_init__(self) -> None:
        _check_name("variant", self.name)
        try:
            parse_source(self.source, VARIANT_KINDS)
        except InputError as err:
            raise InputError(f"variant {self.name}: {err}") from None
        if isinstance(self.share, bool) or not isinstance(self.share, (int, float)) or not 0.0 <= self.share <= 1.0:
            raise InputError(f"variant {self.name}: share {self.share!r} is not a number in [0, 1]")
        if isinstance(self.timeout_ms, bool) or not isinstance(self.timeout_ms, int) or not 1 <= self.timeout_ms <= 60_000:
            raise InputError(f"variant {self.name}: timeout_ms {self.timeout_ms!r} is not an integer in [1, 60000]")
        object.__setattr__(self, "share", float(self.share))

    @property
    def model_version(self) -> str | None:
        """`active` or `vN` for a `model:` source, else None."""
        return parse_source(self.source, VARIANT_KINDS).model_version

    @property
    def endpoint(self) -> tuple[str, str] | None:
        """(endpoint URL, campaign ARN) for an `endpoint:` source, else None."""
        return parse_source(self.source, VARIANT_KINDS).endpoint


@dataclass(frozen=True)
class Experiment:
    """An A/B experiment: a salted split of users over `variants`, one of which is the `control`.

    Shares sum to 1; `homerec.experiments.assign` maps users onto them in variant order.
    """

    name: str
    salt: str
    mode: Mode
    control: str
    variants: tuple[Variant, ...]
    status: Status = "running"
    guardrail: str | None = None
    """A metric (e.g. `conversion`) the report watches for a significant drop."""
    created_at: int = 0
    """Epoch seconds; exposures and events before it are not part of the experiment."""
    changed_at: int = 0
    """When the split or the mode last changed (0: never). Reports default to the exposures since
    then: users who moved between variants with the traffic, or were served the control in a
    shadow phase, would otherwise count in two variants."""

    @property
    def period_start(self) -> int:
        """The start of the current allocation: what a report covers by default."""
        return max(self.created_at, self.changed_at)

    def __post_init__(self) -> None:
        _check_name("experiment", self.name)
        if not isinstance(self.salt, str) or not _NAME.fullmatch(self.salt):
            raise InputError(
                f"experiment {self.name}: bad salt {self.salt!r}: use 1-64 letters, digits, '.', '_' or '-'"
            )  # no ':' in a salt keeps the hashed text f"{salt}:{user_id}" unambiguous
        if self.mode not in MODES:
            raise InputError(f"experiment {self.name}: mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.status not in STATUSES:
            raise InputError(f"experiment {self.name}: status {self.status!r} is not one of {', '.join(STATUSES)}")
        object.__setattr__(self, "variants", tuple(self.variants))
        if len(self.variants) < 2 or not all(isinstance(v, Variant) for v in self.variants):
            raise InputError(f"experiment {self.name}: needs at least two variants")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise InputError(f"experiment {self.name}: variant names repeat ({', '.join(names)})")
        if self.control not in names:
            raise InputError(f"experiment {self.name}: the control {self.control!r} is not a variant ({', '.join(names)})")
        total = sum(v.share for v in self.variants)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise InputError(f"experiment {self.name}: shares sum to {total:.12g}, not 1")
        if self.guardrail is not None and not (isinstance(self.guardrail, str) and self.guardrail.strip()):
            raise InputError(f"experiment {self.name}: the guardrail must name a metric")
        for field_name in ("created_at", "changed_at"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"experiment {self.name}: {field_name} {value!r} is not epoch seconds")

    # -- reading ---------------------------------------------------------------------------
    def variant(self, name: str) -> Variant:
        """The variant called `name`.

        Raises:
            InputError: there is none.
        """
        for v in self.variants:
            if v.name == name:
                return v
        raise InputError(f"experiment {self.name} has no variant {name!r} ({', '.join(self.shares)})")

    @property
    def shares(self) -> dict[str, float]:
        """Variant name → traffic share, in variant order."""
        return {v.name: v.share for v in self.variants}

    # -- operations (each returns a new Experiment) ----------------------------------------
    def with_traffic(self, percent: float, variant: str | None = None) -> "Experiment":
        """`variant` (default: the only candidate) gets `percent` % of users; the others share the rest.

        With two variants the control gets the rest. With more, the other variants keep their
        proportions to each other (if they all had 0, the control takes the rest).

        Raises:
            InputError: `percent` is outside [0, 100], the variant is unknown, or it is not
                named while there are several candidates.
        """
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise InputError(f"traffic must be a percentage in [0, 100], got {percent!r}")
        if variant is None:
            candidates = [v.name for v in self.variants if v.name != self.control]
            if len(candidates) > 1:
                raise InputError(f"experiment {self.name} has several candidates ({', '.join(candidates)}): name one")
            variant = candidates[0]
        target = self.variant(variant).name
        share = percent / 100
        others = [v for v in self.variants if v.name != target]
        weight = sum(v.share for v in others)
        if weight > 0:
            rest = {v.name: (1 - share) * v.share / weight for v in others}
        else:
            fallback = [self.control] if target != self.control else [v.name for v in others]
            rest = {v.name: (1 - share) / len(fallback) if v.name in fallback else 0.0 for v in others}
        # The control (or, when it is the target, the first other variant) absorbs rounding.
        absorber = self.control if target != self.control else others[0].name
        rest[absorber] = max(0.0, 1 - share - sum(s for n, s in rest.items() if n != absorber))
        shares = {target: share, **rest}
        return replace(self, variants=tuple(replace(v, share=shares[v.name]) for v in self.variants),
                       changed_at=_now())

    def in_mode(self, mode: str) -> "Experiment":
        """The same experiment in `mode` (`shadow` or `split`)."""
        return replace(self, mode=mode, changed_at=_now())  # type: ignore[arg-type]  # checked by __post_init__

    def stopped(self) -> "Experiment":
        """Stopped: no longer routes or logs anything; the shares stay as they were, for the record."""
        return replace(self, status="stopped")

    def rolled_back(self) -> "Experiment":
        """Rolled back at once: all traffic to the control, status `rolled_back`."""
        variants = tuple(replace(v, share=1.0 if v.name == self.control else 0.0) for v in self.variants)
        return replace(self, variants=variants, status="rolled_back", changed_at=_now())

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The experiment as a JSON object (what the store keeps)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Experiment":
        """The inverse of `to_json`.

        Raises:
            InputError: the text is not a valid experiment.
        """
        try:
            data = json.loads(text)
            variants = tuple(Variant(**v) for v in data.pop("variants"))
            return cls(**data, variants=variants)
        except InputError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"not a valid experiment spec: {exc}") from None


def _now() -> int:
    return int(time.time())


class _Row(Protocol):
    """What `active_experiment` reads of a stored row (`homerec.storage.base.ExperimentRow`)."""

    spec: str
    status: str


def active_experiment(rows: Sequence[_Row]) -> Experiment | None:
    """The running experiment among stored rows, or None (at most one runs at a time).

    Raises:
        InputError: more than one row is running (the store was edited by hand).
    """
    running = [row for row in rows if row.status == "running"]
    if len(running) > 1:
        names = ", ".join(Experiment.from_json(row.spec).name for row in running)
        raise InputError(f"several experiments are running ({names}); stop all but one")
    return Experiment.from_json(running[0].spec) if running else None


def routing_experiment(rows: Sequence[_Row]) -> Experiment | None:
    """The experiment serving routes by: the running one, else the latest rolled-back one whose control
    is not `model:active`.

    A rollback sends everyone to the control at once and keeps them there: when the control
    is the system being replaced (an `endpoint:`) or a pinned version, serving goes on routing
    to it until the experiment is stopped. A stopped experiment routes nothing.
    """
    running = active_experiment(rows)
    if running is not None:
        return running
    rolled = sorted((row for row in rows if row.status == "rolled_back"), key=lambda row: getattr(row, "updated_at", 0))
    for row in reversed(rolled):
        exp = Experiment.from_json(row.spec)
        if exp.variant(exp.control).source != "model:active":
            return exp
    return None
