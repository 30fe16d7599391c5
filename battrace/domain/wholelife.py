"""Whole life, every level: a component shares the fate of the pack it is assembled into.

A module or cell keeps its own stored state (``assembled``, with its ``parent``) while it sits in a
pack; its *effective* state is derived when it is read, from its ancestor chain (cell → module →
pack). Nothing is written to the components when the pack changes, so scrapping, re-making or
recycling a 170-cell pack is one write, and reading a cell costs at most two more key look-ups.

- While the pack is in production or in a vehicle, the component reads ``assembled``, held by the
  pack's custodian.
- When the pack is waste (removed, replaced, discarded, in transit as waste, dismantled), so is the
  component, in the pack's custodian's hands, waste since the pack became waste.
- When the pack is recycled, re-made, or reported missing, so is the component.
- Components that dismantling frees carry their own record from then on (waste in the dismantler's
  custody; they no longer have a parent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from battrace.domain.state import FOLLOWED, RETIRED, BatteryState
from battrace.domain.state import replace_state as replace

#: A parent chain is never deeper than cell → module → pack; a longer one is corrupt data.
MAX_DEPTH = 4
#: States of the root a component takes over as they are.
FOLLOWED_STATES = FOLLOWED


@dataclass(frozen=True, slots=True)
class Inherited:
    """Where a component's effective state comes from: its outermost ancestor."""

    root: str
    root_state: str
    retired: bool
    retired_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.root, "state": self.root_state, "retired": self.retired, "retired_at": self.retired_at}


def is_retired(s: BatteryState) -> bool:
    """Whether ``s`` has left EV service for good (or is a product re-made from such batteries)."""
    return s.waste or s.remade or s.state in RETIRED


def chain(code: str, get: Callable[[str], BatteryState | None]) -> list[BatteryState]:
    """The ancestors of ``code`` (parent first, the pack last) read through ``get``."""
    out: list[BatteryState] = []
    state = get(code)
    seen = {code}
    while state is not None and state.parent is not None and len(out) < MAX_DEPTH:
        if state.parent in seen:
            break
        seen.add(state.parent)
        state = get(state.parent)
        if state is None:
            break
        out.append(state)
    return out


def followed_state(root_state: str) -> str | None:
    """The state a component in a pack takes from its root's state, or None when it keeps its own."""
    if root_state in FOLLOWED_STATES:
        return root_state
    # what dismantling did not free is still waste in the dismantler's hands
    return "waste" if root_state == "dismantled" else None


def effective(own: BatteryState, ancestors: list[BatteryState]) -> tuple[BatteryState, Inherited | None]:
    """The state ``own`` shows to readers, given its ancestors (parent first); ``None`` when it has none."""
    if own.parent is None or not ancestors:
        return own, None
    root = ancestors[-1]
    retired = is_retired(root)
    inherited = Inherited(root.code, root.state, retired, root.waste_since if retired else None)
    state = followed_state(root.state) or own.state
    return replace(
        own, state=state, custodian=root.custodian, waste=root.waste or root.state == "dismantled",
        waste_since=root.waste_since, vin=root.vin, pending_to=root.pending_to,
        last_vin=own.last_vin or root.last_vin,
    ), inherited
