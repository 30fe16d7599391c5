"""The event types: one class a type, the single description of each.

Each class is a :class:`msgspec.Struct` that owns, for its type:

- its **fields**, with their types and constraints (:class:`msgspec.Meta`) and the checker of what a
  type cannot say (:mod:`battrace.domain.checks`: battery codes, VINs, credit codes, timestamps);
- which **reporters** (organisation types) may send it (``None``: any, custody decides);
- its schema **version** (stored with every event; see :mod:`battrace.domain.upcasting`);
- its **integrity decision** (:meth:`EventData.decide`, run by :func:`battrace.domain.integrity.decide`);
- its **fold step** (:meth:`EventData.fold_battery`, :meth:`EventData.fold_vehicle`, run by
  :mod:`battrace.domain.lifecycle`);
- its **EPCIS mapping** (event type, action, business step, disposition, identifier slots, ILMD, and
  how the exporter's content-dependent choices and fields of its own look: ``by_field``, ``epcis_extra``);
- a short description (its docstring).

Everything else is generated from the classes: the type list and versions
(:data:`battrace.domain.events.EVENT_TYPES`, ``EVENT_VERSIONS``), the CSV columns, the EPCIS
mapping tables of :mod:`battrace.interop.epcis_export`, the table in ``docs/events.md``
(:func:`docs_table`) and the EPCIS table in ``docs/interop.md`` (:func:`epcis_table`);
``python tools/gen_docs.py`` rewrites both, ``tests/test_docs.py`` keeps them in sync.

Parsing (:func:`battrace.domain.events.parse_event`) converts a raw object into its class with
``msgspec.convert(..., strict=True)`` and then runs the semantic checkers; what msgspec refuses is
parsed again field by field so that every error keeps its message, field and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta

from battrace.domain.checks import (
    APPLICATIONS,
    EVENT_ID_MAX,
    PROCESSES,
    TEST_METHODS,
    Checker,
    check_bool,
    check_code,
    check_codes,
    check_codes_or_none,
    check_credit,
    check_features,
    check_outputs,
    check_positive,
    check_replacements,
    check_soh,
    check_text,
    check_timestamp,
    check_vin,
    choice,
)
from battrace.domain.lifecycle import new_battery, to_waste
from battrace.domain.state import (
    FINISHED,
    HANDOVER,
    HELD,
    IN_SERVICE,
    IN_VEHICLE,
    BatteryState,
    Status,
    VehicleState,
)
from battrace.domain.state import replace_state as replace
from battrace.errors import AlreadyAssembled, InvalidTransition, NotCustodian

if TYPE_CHECKING:
    from battrace.domain.events import Event
    from battrace.domain.integrity import _Ctx as Ctx

#: ... a re-made product in service in its application may be handed over too (taken back as waste).
PRODUCT_HANDOVER = HANDOVER | {Status.IN_SERVICE}
#: Every top-level field an event may carry besides its type's: the common fields, then the
#: platform's (ignored when parsing: the ingest service decides about ``recorded_at``).
COMMON_FIELDS = ("event_id", "type", "occurred_at", "reporter", "region", "data")
PLATFORM_FIELDS = ("recorded_at", "seq", "hash", "imported")
ANY_REPORTER = "the current custodian / named receiver"


def vehicle_stream(vin: str) -> str:
    return f"vin:{vin}"


def techinfo_stream(maker: str, model: str) -> str:
    return f"techinfo:{maker}:{model}"


# -- field kinds: msgspec type + constraints, the checker, a label for the docs ---------------------


@dataclass(frozen=True, slots=True)
class Check:
    """Annotated metadata of a field kind: ``checker`` is the field-by-field check (it names the field
    in its error); ``semantic`` says it must also run after msgspec accepted the value (what a type
    and :class:`~msgspec.Meta` cannot say: check characters, a real date, no repeated code)."""

    checker: Checker
    label: str
    semantic: bool


EventId = Annotated[str, Meta(min_length=1, max_length=EVENT_ID_MAX, pattern=r"(?s)\A\S(?:.*\S)?\Z")]
Region = Annotated[str, Meta(pattern=r"\A[0-9]{6}\Z")]
BatteryCode = Annotated[str, Meta(min_length=1), Check(check_code, "battery code", True)]
BatteryCodes = Annotated[list[str], Meta(min_length=1),
                         Check(check_codes, "battery codes, ≥ 1, no repeats", True)]
CodesMaybeNone = Annotated[list[str], Check(check_codes_or_none, "battery codes, may be empty", True)]
Vin = Annotated[str, Meta(min_length=17, max_length=17), Check(check_vin, "VIN", True)]
Credit = Annotated[str, Meta(min_length=18, max_length=18), Check(check_credit, "credit code", True)]
Text = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"\S"), Check(check_text, "text, ≤ 500 chars", False)]
Timestamp = Annotated[str, Check(check_timestamp, "RFC 3339 timestamp", True)]
# Numbers are an int or a float, kept as given (``150`` stays ``150``: the canonical JSON is the reporter's).
Positive = Annotated[Annotated[int, Meta(gt=0, le=10**9)] | Annotated[float, Meta(gt=0.0, le=1e9)],
                     Check(check_positive, "number > 0, ≤ 1e9", False)]
Soh = Annotated[Annotated[int, Meta(ge=0, le=1)] | Annotated[float, Meta(ge=0.0, le=1.2)],
                Check(check_soh, "number 0–1.2", False)]
Kg = Annotated[int, Meta(ge=0, le=10**7)] | Annotated[float, Meta(ge=0.0, le=1e7)]
Flag = Annotated[bool, Check(check_bool, "true / false", False)]
Application = Annotated[
    Literal["energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "e_bike", "other"],
    Check(choice(APPLICATIONS), "application", False),
]
Process = Annotated[Literal["hydro", "pyro", "direct"], Check(choice(PROCESSES), "process", False)]
Method = Annotated[Literal["gbt34015", "pulse"], Check(choice(TEST_METHODS), "test method", False)]
Outputs = Annotated[dict[Annotated[str, Meta(pattern=r"^[a-z_]{1,32}$")], Kg], Meta(min_length=1),
                    Check(check_outputs, "kg by material", False)]
Features = Annotated[dict[str, Any], Check(check_features, "object", False)]


class Replacement(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One replaced component of ``battery.repaired``."""

    removed: BatteryCode
    installed: BatteryCode


Replacements = Annotated[list[Replacement], Meta(min_length=1),
                         Check(check_replacements, "list of {removed, installed} codes", True)]


# -- EPCIS -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByField:
    """An EPCIS event type and action that depend on whether one native field is given (present, not
    ``None`` and, for a list, not empty). The exporter (``epcis_export._special``) makes the choice;
    this states it for the docs, and ``tests/test_docs.py`` checks the two agree."""

    field: str
    given: tuple[str, str]  # (EPCIS event type, action) when the field is given
    missing: tuple[str, str]  # (EPCIS event type, action) when it is not


@dataclass(frozen=True, slots=True)
class EpcisMapping:
    """The EPCIS shape of one native event type.

    ``epcis_type``, ``action``, ``biz_step`` and ``disposition`` are the fixed shape: the exporter
    writes them (``None``: nothing) and capture matches an event without ``bt:event_type`` against them
    (an ``action`` of ``None`` matches any). Where the exporter chooses the event type and action from
    the event's content instead, ``by_field`` says how (capture does not read it).
    """

    epcis_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    by_field: ByField | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A native identifier field carried in an EPCIS identifier slot."""

    field: str
    slot: str  # epcList, parentID, childEPCs, inputEPCList, outputEPCList, sourceList, destinationList
    kind: str  # battery, vehicle, org
    many: bool = False


@dataclass(frozen=True, slots=True)
class ExtraSlot:
    """An EPCIS field the exporter fills in a way of its own (not one native field in one slot), as
    ``docs/interop.md`` states it; ``consumes`` names the native fields it carries, which therefore
    travel as no ``bt:`` property of their own."""

    text: str  # Markdown
    consumes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One type-specific field: its name in JSON, the attribute, whether required, its check."""

    name: str
    attr: str
    required: bool
    check: Check


# -- the classes -------------------------------------------------------------------------------------


class EventData(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type", frozen=True):
    """The common fields of every event (the type is the class's tag). The platform fields are
    accepted and ignored when parsing."""

    name: ClassVar[str]
    reporters: ClassVar[tuple[str, ...] | None]
    version: ClassVar[int] = 1
    epcis: ClassVar[EpcisMapping]
    epcis_slots: ClassVar[tuple[Slot, ...]] = ()
    epcis_extra: ClassVar[tuple[ExtraSlot, ...]] = ()
    epcis_ilmd: ClassVar[tuple[str, ...]] = ()
    #: Set by :func:`_register`: the type's own fields in order, required ones first.
    specs: ClassVar[tuple[FieldSpec, ...]] = ()
    required: ClassVar[dict[str, Checker]] = {}
    optional: ClassVar[dict[str, Checker]] = {}
    names: ClassVar[tuple[str, ...]] = ()
    semantic: ClassVar[tuple[tuple[str, Checker], ...]] = ()
    renames: ClassVar[dict[str, str]] = {}

    event_id: EventId
    occurred_at: str
    reporter: str | None = None
    region: Region | None = None
    data: dict[str, Any] | None = None
    recorded_at: Any = None
    seq: Any = None
    hash: Any = None
    imported: Any = None

    @classmethod
    def description(cls) -> str:
        return " ".join((cls.__doc__ or "").split())

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> EventData:
        """The instance of stored (trusted) content, built without validating it again."""
        kwargs = dict(content)
        del kwargs["type"]
        for name, attr in cls.renames.items():
            if name in kwargs:
                kwargs[attr] = kwargs.pop(name)
        return cls(**kwargs)

    # -- integrity and fold: each type overrides what it does --------------------------------------

    def decide(self, x: Ctx) -> None:
        """Check the event against the world (``x.w``) and record what it changes in ``x.d``."""
        raise NotImplementedError(self.name)

    def fold_battery(self, s: BatteryState | None, e: Event, code: str) -> BatteryState:
        """The state of battery ``code`` after this event (which names it)."""
        if s is None:
            raise ValueError(f"{e.type} cannot start the stream of {code}")
        return self.evolve(s, e, code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        raise ValueError(f"{e.type} does not change battery {code}")

    def fold_vehicle(self, v: VehicleState | None, e: Event) -> VehicleState:
        """The state of the vehicle ``v`` after this event."""
        if v is None:
            raise ValueError(f"{e.type} cannot start a vehicle stream")
        return self.evolve_vehicle(v, e)

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        raise ValueError(f"{e.type} does not change vehicle {v.vin}")


class BatteryProduced(EventData, tag="battery.produced", frozen=True):
    """A battery (cell, module or pack) is made; listed components go into it."""

    reporters = ("battery_maker",)
    epcis = EpcisMapping("ObjectEvent", "ADD", "commissioning", "active")
    epcis_slots = (Slot("battery", "epcList", "battery"),)
    epcis_ilmd = ("model", "rated_capacity_ah", "nominal_voltage_v", "rated_energy_kwh", "mass_kg")

    battery: BatteryCode
    model: Text
    rated_capacity_ah: Positive
    nominal_voltage_v: Positive
    rated_energy_kwh: Positive
    mass_kg: Positive
    components: BatteryCodes | None = None

    def decide(self, x: Ctx) -> None:
        x.new_code(self.battery)
        x.d.batteries[self.battery] = self.fold_battery(None, x.e, self.battery)
        if self.components is not None:
            x.assemble(self.battery, self.components)

    def fold_battery(self, s: BatteryState | None, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if s is None:
            return new_battery(
                code, e, model=self.model, rated_capacity_ah=self.rated_capacity_ah,
                nominal_voltage_v=self.nominal_voltage_v, rated_energy_kwh=self.rated_energy_kwh,
                mass_kg=self.mass_kg, last_event_at=at,
            )
        return _placed(s, e, code, self.battery)


def _placed(s: BatteryState, e: Event, code: str, parent: str) -> BatteryState:
    """A battery named by a production or an assembly: the parent, or a component placed into it."""
    at = e.content["occurred_at"]
    if code != parent:  # a component placed into the parent
        return replace(s, last_event_at=at, state="assembled", parent=parent)
    return replace(s, last_event_at=at)


class BatteryAssembled(EventData, tag="battery.assembled", frozen=True):
    """Produced components are placed into a produced parent of a higher level."""

    reporters = ("battery_maker", "vehicle_maker")
    epcis = EpcisMapping("AggregationEvent", "ADD", "packing", None)
    epcis_slots = (Slot("battery", "parentID", "battery"), Slot("components", "childEPCs", "battery", True))

    battery: BatteryCode
    components: BatteryCodes

    def decide(self, x: Ctx) -> None:
        parent = x.battery(self.battery)
        x.assemble(parent.code, self.components)
        x.transition(parent, {Status.PRODUCED}, "be assembled")
        x.change(parent.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return _placed(s, e, code, self.battery)


class TechinfoFiled(EventData, tag="techinfo.filed", frozen=True):
    """A maker files the technical information of a battery model (its CCC certification)."""

    reporters = ("battery_maker",)
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "bt:filing_techinfo", None)
    epcis_extra = (ExtraSlot("`quantityList[0].epcClass` = `…/model/{reporter}/{model}` (class level: no `epcList`)"),)

    model: Text
    ccc_certified_at: Timestamp
    document: Text

    def document_of(self, e: Event) -> dict[str, Any]:
        """The techinfo read model's document (also what ``verify`` re-derives)."""
        return {"maker": e.reporter, "model": self.model, "ccc_certified_at": self.ccc_certified_at,
                "document": self.document, "filed_at": e.content["occurred_at"]}

    def decide(self, x: Ctx) -> None:
        x.d.techinfo = self.document_of(x.e)
        x.d.extra_streams.append(techinfo_stream(x.e.reporter, self.model))


class VehicleCertified(EventData, tag="vehicle.certified", frozen=True):
    """A vehicle is certified with its packs installed."""

    reporters = ("vehicle_maker",)
    epcis = EpcisMapping("AssociationEvent", "ADD", "installing", None)
    epcis_slots = (Slot("vin", "parentID", "vehicle"), Slot("batteries", "childEPCs", "battery", True))

    vin: Vin
    vehicle_model: Text
    swap_model: Flag
    batteries: BatteryCodes
    certificate_no: Text

    def decide(self, x: Ctx) -> None:
        vin = self.vin
        if x.d.vehicles.get(vin) or x.w.vehicle(vin):
            raise InvalidTransition(f"vehicle.certified: vehicle {vin} is already certified", vin=vin)
        for code in self.batteries:
            b = x.battery(code)
            if b.parent is not None:
                raise AlreadyAssembled(f"vehicle.certified: {code} is assembled into {b.parent}", battery=code)
            x.not_for_vehicles(b)
            x.transition(b, {Status.PRODUCED}, "be installed in a vehicle")
            x.change(code)
        x.change_vehicle(vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return replace(s, last_event_at=e.content["occurred_at"], state="installed", vin=self.vin,
                       last_vin=self.vin)

    def fold_vehicle(self, v: VehicleState | None, e: Event) -> VehicleState:
        if v is not None:
            raise ValueError(f"{e.type} does not change vehicle {v.vin}")
        return VehicleState(
            vin=self.vin, maker=e.reporter, vehicle_model=self.vehicle_model, swap_model=self.swap_model,
            certificate_no=self.certificate_no, certified_at=e.content["occurred_at"], region=e.region,
            packs=tuple(self.batteries),
        )


class VehicleSold(EventData, tag="vehicle.sold", frozen=True):
    """A certified vehicle is sold: its packs go into service."""

    reporters = ("vehicle_maker",)
    epcis = EpcisMapping("TransactionEvent", "ADD", "retail_selling", "retail_sold")
    epcis_slots = (Slot("vin", "epcList", "vehicle"),)
    epcis_extra = (ExtraSlot("`bizTransactionList` = `…/sale/{reporter}/{event_id}` (the schema requires one)"),)

    vin: Vin

    def decide(self, x: Ctx) -> None:
        v = x.vehicle(self.vin)
        x.own_vehicle(v)
        if v.state != "certified":
            raise InvalidTransition(f"vehicle.sold: vehicle {v.vin} is {v.state}", vin=v.vin, state=v.state)
        for code in v.packs:
            x.change(code)
        x.change_vehicle(v.vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return replace(s, last_event_at=e.content["occurred_at"],
                       **({"state": "in_service"} if s.state == "installed" else {}))

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        return replace(v, state="sold", sold_at=e.content["occurred_at"], region=e.region or v.region)


def _vehicle_packs_after_exchange(v: VehicleState, vin: str, removed: str, installed: str | None) -> VehicleState:
    packs = [p for p in v.packs if p != removed]
    if installed and v.vin == vin:
        packs.append(installed)
    return replace(v, packs=tuple(packs))


class BatterySwapped(EventData, tag="battery.swapped", frozen=True):
    """A swap station exchanges a swap-model vehicle's pack for one from its stock."""

    reporters = ("swap_operator",)
    epcis = EpcisMapping("AssociationEvent", "ADD", "bt:swapping", None)
    epcis_slots = (Slot("vin", "parentID", "vehicle"), Slot("installed", "childEPCs", "battery"))

    vin: Vin
    removed: BatteryCode
    installed: BatteryCode

    def decide(self, x: Ctx) -> None:
        v = x.live_vehicle(self.vin)
        if not v.swap_model:
            raise InvalidTransition(f"battery.swapped: vehicle {v.vin} is not a swap model", vin=v.vin)
        if self.removed == self.installed:
            raise InvalidTransition("battery.swapped: removed and installed are the same pack", battery=self.removed)
        x.take_out(v, self.removed)
        x.put_in(self.installed, {Status.SWAP_STOCK, Status.PRODUCED})
        x.change_vehicle(v.vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if code == self.removed:
            return replace(s, last_event_at=at, state="swap_stock", custodian=e.reporter, vin=None)
        # a swap pack stays the operator's while it runs in a customer's vehicle (its last holder)
        return replace(s, last_event_at=at, state="in_service", vin=self.vin, last_vin=self.vin, custodian=e.reporter)

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        return _vehicle_packs_after_exchange(v, self.vin, self.removed, self.installed)


class BatteryReplaced(EventData, tag="battery.replaced", frozen=True):
    """A repair shop or maker takes a vehicle's pack out (as waste), optionally putting another in."""

    reporters = ("repair_shop", "vehicle_maker")
    epcis = EpcisMapping("AssociationEvent", None, "repairing", None,
                         ByField("installed", ("AssociationEvent", "ADD"), ("AssociationEvent", "DELETE")))
    epcis_slots = (Slot("vin", "parentID", "vehicle"),)
    epcis_extra = (ExtraSlot("`childEPCs` = `installed` (ADD; `removed` then travels as `bt:removed`) or `removed` "
                             "(DELETE)", ("installed", "removed")),)

    vin: Vin
    removed: BatteryCode
    reason: Text
    installed: BatteryCode | None = None

    def decide(self, x: Ctx) -> None:
        v = x.live_vehicle(self.vin)
        installed = self.installed
        if installed == self.removed:
            raise InvalidTransition("battery.replaced: removed and installed are the same pack", battery=installed)
        x.take_out(v, self.removed)
        if installed:
            x.put_in(installed, {Status.PRODUCED, Status.SWAP_STOCK})
        x.change_vehicle(v.vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if code == self.removed:
            return to_waste(s, at, e.reporter)
        return replace(s, last_event_at=at, state="in_service", vin=self.vin, last_vin=self.vin, custodian=None)

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        return _vehicle_packs_after_exchange(v, self.vin, self.removed, self.installed)


class BatteryRepaired(EventData, tag="battery.repaired", frozen=True):
    """A battery is repaired, optionally with components replaced (the old ones become waste)."""

    reporters = ("repair_shop", "vehicle_maker")
    epcis = EpcisMapping("AggregationEvent", "ADD", "repairing", None,
                         ByField("components_replaced", ("AggregationEvent", "ADD"), ("ObjectEvent", "OBSERVE")))
    epcis_extra = (ExtraSlot("`parentID` = `battery`, `childEPCs` = each `components_replaced[].installed` "
                             "(AggregationEvent); or `epcList` = `battery` (ObjectEvent)", ("battery",)),)

    battery: BatteryCode
    components_replaced: Replacements | None = None

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> EventData:
        replaced = content.get("components_replaced")
        if replaced is not None:
            content = {**content, "components_replaced": [Replacement(i["removed"], i["installed"]) for i in replaced]}
        return super().from_content(content)

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        x.transition(b, IN_SERVICE | {Status.PRODUCED, Status.WASTE}, "be repaired")
        x.change(b.code)
        for item in self.components_replaced or ():
            old = x.battery(item.removed)
            if old.parent != b.code:
                raise InvalidTransition(
                    f"battery.repaired: {old.code} is not a component of {b.code}", battery=old.code, parent=b.code
                )
            x.change(old.code)
            x.assemble(b.code, [item.installed])

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if code == self.battery:
            return replace(s, last_event_at=at)
        for item in self.components_replaced or ():
            if code == item.removed:
                return to_waste(s, at, e.reporter, parent=None)
            if code == item.installed:
                return replace(s, last_event_at=at, state="assembled", parent=self.battery)
        return replace(s, last_event_at=at)


class VehicleScrapped(EventData, tag="vehicle.scrapped", frozen=True):
    """A dismantler scraps a vehicle, reporting the packs found in it (possibly none)."""

    reporters = ("dismantler",)
    epcis = EpcisMapping("ObjectEvent", "DELETE", "bt:scrapping", None)
    epcis_slots = (Slot("vin", "epcList", "vehicle"),)

    vin: Vin
    batteries_present: CodesMaybeNone
    certificate_no: Text

    def decide(self, x: Ctx) -> None:
        v = x.vehicle(self.vin)
        if v.state == "scrapped":
            raise InvalidTransition(f"vehicle.scrapped: vehicle {v.vin} is already scrapped", vin=v.vin)
        present = self.batteries_present
        for code in present:
            b = x.battery(code)
            x.transition(b, IN_VEHICLE, "be found in a scrapped vehicle")
            if b.vin is None:
                raise InvalidTransition(f"vehicle.scrapped: {code} is in no vehicle", battery=code, state=b.state)
            if b.vin != v.vin:
                # an unreported replacement (R13): the report is a fact; the pack leaves the vehicle the
                # records bound it to
                x.change_vehicle(b.vin)
            x.change(code)
        if v.swap_model:
            for code in v.packs:  # a swap pack not found at scrapping stays in swap stock with its last holder
                if code not in present:
                    x.change(code)
        x.change_vehicle(v.vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if code not in self.batteries_present:
            # a swap pack bound to the vehicle but not in it at scrapping: back in swap stock with its
            # last holder
            return replace(s, last_event_at=at, state="swap_stock", vin=None)
        # the pack follows the dismantler's report, even when the records bound it to another vehicle (R13)
        return replace(s, last_event_at=at, custodian=e.reporter, vin=self.vin, last_vin=self.vin)

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        present = self.batteries_present
        if v.vin != self.vin:  # another vehicle whose pack was found in the scrapped one (R13): it is gone
            return replace(v, packs=tuple(p for p in v.packs if p not in present))
        # the scrapped vehicle holds what the dismantler found; a swap pack not found stays in swap stock
        packs = [p for p in v.packs if p in present or not v.swap_model]
        packs += [p for p in present if p not in packs]
        return replace(v, state="scrapped", scrapped_at=e.content["occurred_at"], scrapped_by=e.reporter,
                       packs=tuple(packs))


class BatteryRemoved(EventData, tag="battery.removed", frozen=True):
    """A dismantler takes a pack out of a scrapped vehicle: it becomes waste in the dismantler's hands."""

    reporters = ("dismantler",)
    epcis = EpcisMapping("AssociationEvent", "DELETE", "removing", "bt:waste")
    epcis_slots = (Slot("vin", "parentID", "vehicle"), Slot("battery", "childEPCs", "battery"))

    battery: BatteryCode
    vin: Vin

    def decide(self, x: Ctx) -> None:
        v = x.vehicle(self.vin)
        b = x.battery(self.battery)
        if v.state != "scrapped":
            raise InvalidTransition(
                f"battery.removed: vehicle {v.vin} is not scrapped (a removal from a live vehicle is a replacement)",
                vin=v.vin,
            )
        if b.vin != v.vin:
            raise InvalidTransition(f"battery.removed: {b.code} is not bound to {v.vin}", battery=b.code, vin=v.vin)
        x.change(b.code)
        x.change_vehicle(v.vin)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return to_waste(s, e.content["occurred_at"], e.reporter)

    def evolve_vehicle(self, v: VehicleState, e: Event) -> VehicleState:
        return replace(v, packs=tuple(p for p in v.packs if p != self.battery))


class BatteryHandedOver(EventData, tag="battery.handed_over", frozen=True):
    """The custodian hands batteries over to another organisation (they are in transit)."""

    reporters = None
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "shipping", "in_transit")
    epcis_slots = (Slot("batteries", "epcList", "battery", True), Slot("to", "destinationList", "org"))
    epcis_extra = (ExtraSlot("`sourceList` = reporter"),)

    batteries: BatteryCodes
    to: Credit

    def decide(self, x: Ctx) -> None:
        receiver = x.org(self.to)
        if receiver.credit_code == x.e.reporter:
            raise InvalidTransition("battery.handed_over: sender and receiver are the same organisation")
        for code in self.batteries:
            b = x.battery(code)
            x.transition(b, PRODUCT_HANDOVER if b.remade else HANDOVER, "be handed over")
            if b.parent is not None:
                raise InvalidTransition(f"battery.handed_over: {code} is assembled into {b.parent}", battery=code)
            x.custodian(b, "hand it over")
            if receiver.type == "recycler" and b.state == Status.PRODUCED:
                # A recycler takes waste (and what is left of dismantled batteries); a produced battery
                # becomes waste first, so that its state does not depend on who receives it.
                raise InvalidTransition(
                    f"battery.handed_over: {code} is produced, not waste, and a recycler takes only waste "
                    f"batteries (first report {'battery.dismantled' if b.remade else 'battery.discarded'})",
                    battery=code, state=b.state, receiver=receiver.credit_code,
                )
            x.change(code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        # a re-made product handed over from its application comes back as waste
        prior = "waste" if s.state == "in_service" else s.state
        return replace(s, last_event_at=at, state="in_transit", prior_state=prior, pending_to=self.to,
                       **({"waste": True, "waste_since": s.waste_since or at} if prior == "waste" else {}))


class BatteryReceived(EventData, tag="battery.received", frozen=True):
    """The named receiver takes batteries handed over to it."""

    reporters = None
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "receiving", "in_progress")
    epcis_slots = (Slot("batteries", "epcList", "battery", True), Slot("from", "sourceList", "org"))
    epcis_extra = (ExtraSlot("`destinationList` = reporter"),)

    batteries: BatteryCodes
    from_: Credit = msgspec.field(name="from")

    def decide(self, x: Ctx) -> None:
        sender = self.from_
        x.org(sender)
        for code in self.batteries:
            b = x.battery(code)
            if b.state != Status.IN_TRANSIT:
                raise InvalidTransition(
                    f"battery.received: {code} is {b.state}; nothing was handed over", battery=code, state=b.state
                )
            if b.pending_to != x.e.reporter:
                raise NotCustodian(
                    f"battery.received: {code} was handed over to {b.pending_to}, not to {x.e.reporter}",
                    battery=code, receiver=b.pending_to,
                )
            if b.custodian != sender:
                raise InvalidTransition(
                    f"battery.received: {code} was sent by {b.custodian}, not by {sender}", battery=code,
                    sender=b.custodian,
                )
            x.change(code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if s.prior_state == "swap_stock":
            # A swap pack handed to another organisation leaves the swap network for good: it is
            # received as a waste battery (operators move stock between their own stations without
            # a hand-over).
            return to_waste(s, at, e.reporter, prior_state=None, pending_to=None)
        return replace(s, last_event_at=at, state=s.prior_state or "waste", prior_state=None, pending_to=None,
                       custodian=e.reporter)


class BatteryTested(EventData, tag="battery.tested", frozen=True):
    """The holder measures a battery's health."""

    reporters = None
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "inspecting", None)
    epcis_slots = (Slot("battery", "epcList", "battery"),)
    epcis_extra = (ExtraSlot("`sensorElementList[0].sensorReport` = `soh` as `bt:state_of_health`, "
                             "`measured_capacity_ah` as `ElectricCharge` in `AMH`, `internal_resistance_mohm` as "
                             "`Resistance` in `E45` (milliohm), each if given",
                             ("soh", "measured_capacity_ah", "internal_resistance_mohm")),)

    battery: BatteryCode
    soh: Soh
    measured_capacity_ah: Positive | None = None
    internal_resistance_mohm: Positive | None = None
    method: Method | None = None
    features: Features | None = None

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        if b.state in FINISHED:
            x.transition(b, set(), "be tested")
        x.custodian(b, "test it")
        x.change(b.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        health = {
            "soh": self.soh,
            "measured_capacity_ah": self.measured_capacity_ah,
            "internal_resistance_mohm": self.internal_resistance_mohm,
            "method": self.method,
            "tested_at": at,
            "tested_by": e.reporter,
        }
        return replace(s, last_event_at=at, health=health)


class BatteryRemanufactured(EventData, tag="battery.remanufactured", frozen=True):
    """A reuse enterprise makes a re-made product from waste batteries it holds (lineage kept)."""

    reporters = ("reuse_enterprise",)
    epcis = EpcisMapping("TransformationEvent", None, "bt:remanufacturing", "active")
    epcis_slots = (Slot("sources", "inputEPCList", "battery", True), Slot("product", "outputEPCList", "battery"))
    epcis_ilmd = ("application", "certification")

    product: BatteryCode
    sources: BatteryCodes
    application: Application
    certification: Text | None = None

    def decide(self, x: Ctx) -> None:
        product = self.product
        if product in self.sources:
            raise InvalidTransition("battery.remanufactured: the product cannot be its own source", battery=product)
        x.new_code(product)
        for code in self.sources:
            b = x.battery(code)
            x.transition(b, {Status.WASTE}, "be re-made")
            x.custodian(b, "re-make it")
            x.change(code)
            x.d.lineage.append((product, code))
        x.d.batteries[product] = self.fold_battery(None, x.e, product)

    def fold_battery(self, s: BatteryState | None, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if s is not None:
            return replace(s, last_event_at=at, state="remade")
        data = e.content.get("data") or {}
        figures = {k: data[k] for k in ("model", "rated_capacity_ah", "nominal_voltage_v", "rated_energy_kwh",
                                        "mass_kg") if k in data}
        # whatever battery.remanufactured creates is a re-made product, 17- or 24-character code
        product = new_battery(
            code, e, application=self.application, certification=self.certification,
            sources=tuple(self.sources), last_event_at=at, **figures,
        )
        return product if product.remade else replace(product, remade=True)


class ProductDelivered(EventData, tag="product.delivered", frozen=True):
    """A re-made product is delivered into service in its application."""

    reporters = ("reuse_enterprise",)
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "shipping", "in_transit")
    epcis_slots = (Slot("battery", "epcList", "battery"),)

    battery: BatteryCode
    application: Application
    customer: Text

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        if not b.remade:
            raise InvalidTransition(f"product.delivered: {b.code} is not a re-made product", battery=b.code)
        x.transition(b, {Status.PRODUCED}, "be delivered")
        x.custodian(b, "deliver it")
        x.change(b.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return replace(s, last_event_at=e.content["occurred_at"], state="in_service", application=self.application)


class BatteryDismantled(EventData, tag="battery.dismantled", frozen=True):
    """A waste battery is taken apart; listed components are freed as waste."""

    reporters = ("recycler", "reuse_enterprise")
    epcis = EpcisMapping("TransformationEvent", None, "bt:dismantling", None)
    epcis_slots = (Slot("battery", "inputEPCList", "battery"), Slot("components", "outputEPCList", "battery", True))

    battery: BatteryCode
    components: BatteryCodes | None = None

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        x.transition(b, {Status.WASTE}, "be dismantled")
        x.custodian(b, "dismantle it")
        x.change(b.code)
        for code in self.components or ():
            c = x.battery(code)
            if c.parent != b.code:
                raise InvalidTransition(f"battery.dismantled: {code} is not a component of {b.code}", battery=code)
            x.change(code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        at = e.content["occurred_at"]
        if code == self.battery:
            return replace(s, last_event_at=at, state="dismantled")
        return to_waste(s, at, e.reporter, parent=None)


class BatteryRecycled(EventData, tag="battery.recycled", frozen=True):
    """A recycler recovers materials from waste or dismantled batteries it holds."""

    reporters = ("recycler",)
    epcis = EpcisMapping("TransformationEvent", None, "bt:recycling", None)
    epcis_slots = (Slot("batteries", "inputEPCList", "battery", True),)
    epcis_extra = (ExtraSlot("`outputQuantityList` = `outputs`: material URI × `quantity` in `KGM` "
                             "(an empty `outputs`: `bt:outputs`)", ("outputs",)),)

    batteries: BatteryCodes
    process: Process
    outputs: Outputs

    def decide(self, x: Ctx) -> None:
        for code in self.batteries:
            b = x.battery(code)
            x.transition(b, {Status.WASTE, Status.DISMANTLED}, "be recycled")
            if b.parent is not None:
                raise InvalidTransition(f"battery.recycled: {code} is assembled into {b.parent}", battery=code)
            x.custodian(b, "recycle it")
            x.change(code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return replace(s, last_event_at=e.content["occurred_at"], state="recycled")


class BatteryReportedMissing(EventData, tag="battery.reported_missing", frozen=True):
    """The holder reports a battery lost."""

    reporters = None
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", None, "bt:missing")
    epcis_slots = (Slot("battery", "epcList", "battery"),)

    battery: BatteryCode
    reason: Text

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        x.transition(b, HELD | {Status.IN_SERVICE} if b.remade else HELD, "be reported missing")
        x.custodian(b, "report it missing")
        x.change(b.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return replace(s, last_event_at=e.content["occurred_at"], state="missing")


class BatteryDiscarded(EventData, tag="battery.discarded", frozen=True):
    """Production scrap: a battery that never left the factory becomes waste in the reporter's custody."""

    reporters = ("battery_maker", "vehicle_maker")
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "decommissioning", "damaged")
    epcis_slots = (Slot("battery", "epcList", "battery"),)  # reason: bt:reason

    battery: BatteryCode
    reason: Text

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        if b.parent is not None:
            raise InvalidTransition(f"battery.discarded: {b.code} is assembled into {b.parent}", battery=b.code)
        if b.remade:
            raise InvalidTransition(f"battery.discarded: {b.code} is a re-made product", battery=b.code)
        x.transition(b, {Status.PRODUCED}, "be discarded as production scrap")
        x.custodian(b, "discard it")
        x.change(b.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return to_waste(s, e.content["occurred_at"], e.reporter)


class ProductReturned(EventData, tag="product.returned", frozen=True):
    """A re-made product back from its user at the end of its second life: waste in the reporter's custody."""

    reporters = ("reuse_enterprise", "collection_outlet", "recycler")
    epcis = EpcisMapping("ObjectEvent", "OBSERVE", "receiving", "returned")
    epcis_slots = (Slot("battery", "epcList", "battery"),)  # reason, from_customer: bt: terms

    battery: BatteryCode
    reason: Text
    from_customer: Text | None = None

    def decide(self, x: Ctx) -> None:
        b = x.battery(self.battery)
        if not b.remade:
            raise InvalidTransition(f"product.returned: {b.code} is not a re-made product", battery=b.code)
        x.transition(b, {Status.IN_SERVICE}, "be returned (only a delivered product in service comes back)")
        x.change(b.code)

    def evolve(self, s: BatteryState, e: Event, code: str) -> BatteryState:
        return to_waste(s, e.content["occurred_at"], e.reporter)


# -- registration and what is generated from the classes --------------------------------------------


def _check_of(annotation: Any) -> Check:
    """The :class:`Check` in a field's annotation (``X`` or ``X | None``)."""
    if get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, Check):
                return meta
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            return _check_of(arg)
    raise TypeError(f"field annotation {annotation!r} names no Check")


def _register(cls: type[EventData]) -> type[EventData]:
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    cls.name = tag
    hints = get_type_hints(cls, include_extras=True)
    own = [a for a in cls.__annotations__ if a not in EventData.__struct_fields__ and a in cls.__struct_fields__]
    encoded = dict(zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=True))
    defaults = {f.name: f.required for f in msgspec.structs.fields(cls)}
    cls.specs = tuple(FieldSpec(encoded[a], a, defaults[a], _check_of(hints[a])) for a in own)
    cls.required = {s.name: s.check.checker for s in cls.specs if s.required}
    cls.optional = {s.name: s.check.checker for s in cls.specs if not s.required}
    cls.names = tuple(s.name for s in cls.specs)
    cls.semantic = tuple((s.name, s.check.checker) for s in cls.specs if s.check.semantic)
    cls.renames = {s.name: s.attr for s in cls.specs if s.name != s.attr}
    if [s.required for s in cls.specs] != sorted((s.required for s in cls.specs), reverse=True):
        raise TypeError(f"{tag}: required fields come before optional ones")
    return cls


CLASSES: tuple[type[EventData], ...] = tuple(_register(c) for c in (
    BatteryProduced, BatteryAssembled, TechinfoFiled, VehicleCertified, VehicleSold, BatterySwapped,
    BatteryReplaced, BatteryRepaired, VehicleScrapped, BatteryRemoved, BatteryHandedOver, BatteryReceived,
    BatteryTested, BatteryRemanufactured, ProductDelivered, BatteryDismantled, BatteryRecycled,
    BatteryReportedMissing, BatteryDiscarded, ProductReturned,
))
#: Every event type by name, in the contract's order.
BY_NAME: dict[str, type[EventData]] = {c.name: c for c in CLASSES}
assert set(BY_NAME) == {c.name for c in EventData.__subclasses__()}, "an event class is not registered"


def versions() -> dict[str, int]:
    return {c.name: c.version for c in CLASSES}


def epcis_mapping() -> dict[str, EpcisMapping]:
    return {c.name: c.epcis for c in CLASSES}


def epcis_slots() -> dict[str, tuple[Slot, ...]]:
    return {c.name: c.epcis_slots for c in CLASSES}


def epcis_ilmd() -> dict[str, tuple[str, ...]]:
    return {c.name: c.epcis_ilmd for c in CLASSES if c.epcis_ilmd}


def csv_columns() -> tuple[str, ...]:
    """Every column a CSV report may have: the common fields, then each type's fields."""
    out = [f for f in COMMON_FIELDS]
    for c in CLASSES:
        for s in c.specs:
            if s.name not in out:
                out.append(s.name)
    return tuple(out)


def _cell(items: Sequence[str]) -> str:
    return "<br>".join(items) if items else "—"


def docs_table() -> str:
    """The Markdown table of every type (``docs/events.md``, between the ``events-table`` markers)."""
    rows = ["| type | reported by | required fields | optional fields | version | EPCIS (type, action, bizStep, "
            "disposition) |", "|---|---|---|---|---|---|"]
    for c in CLASSES:
        who = ", ".join(c.reporters) if c.reporters else ANY_REPORTER
        required = [f"`{s.name}` ({s.check.label})" for s in c.specs if s.required]
        optional = [f"`{s.name}` ({s.check.label})" for s in c.specs if not s.required]
        m = c.epcis
        kind, action = _type_and_action(m)
        epcis = ", ".join(x or "—" for x in (kind, action, m.biz_step, m.disposition))
        rows.append(f"| `{c.name}`<br>{c.description()} | {who} | {_cell(required)} | {_cell(optional)} | "
                    f"{c.version} | {epcis} |")
    return "\n".join(rows)


def _either(by: ByField, given: str, missing: str) -> str:
    """One cell of a content-dependent shape: the value, or ``X if `field` given, else Y``."""
    return given if given == missing else f"{given} if `{by.field}` given, else {missing}"


def _type_and_action(m: EpcisMapping) -> tuple[str, str | None]:
    """The EPCIS event type and action as the docs show them: fixed, or chosen by ``by_field``."""
    by = m.by_field
    if by is None:
        return m.epcis_type, m.action
    return _either(by, by.given[0], by.missing[0]), _either(by, by.given[1], by.missing[1])


def _code(value: str | None) -> str:
    """A vocabulary value as the table shows it: battrace's own (``bt:``) in code, absent as ``—``."""
    if value is None:
        return "—"
    return f"`{value}`" if value.startswith("bt:") else value


def _slot_text(c: type[EventData], s: Slot) -> str:
    optional = not next(spec.required for spec in c.specs if spec.name == s.field)
    return f"`{s.slot}` = `{s.field}`" + (" (if given)" if optional else "")


def _slots_cell(c: type[EventData]) -> str:
    """Where the identifiers go: the fixed slots, the exporter's own fields, a transformation's id."""
    items = [_slot_text(c, s) for s in c.epcis_slots] + [x.text for x in c.epcis_extra]
    if c.epcis.epcis_type == "TransformationEvent":
        items.append("`transformationID`")
    return "; ".join(items) or "—"


def _others_cell(c: type[EventData]) -> str:
    """ILMD fields, then every other native field without a slot (a ``bt:`` extension property)."""
    taken = {s.field for s in c.epcis_slots} | {f for x in c.epcis_extra for f in x.consumes} | set(c.epcis_ilmd)
    ilmd = ", ".join(f"`bt:{f}`" for f in c.epcis_ilmd)
    extensions = ", ".join(f"`bt:{s.name}`" for s in c.specs if s.name not in taken)
    return "; ".join(x for x in (ilmd and f"ILMD {ilmd}", extensions) if x) or "—"


def epcis_row(c: type[EventData]) -> str:
    """The row of one type in :func:`epcis_table`."""
    m = c.epcis
    etype, action = _type_and_action(m)
    return (f"| `{c.name}` | {etype} | {_code(action)} | {_code(m.biz_step)} | {_code(m.disposition)} | "
            f"{_slots_cell(c)} | {_others_cell(c)} |")


def epcis_table() -> str:
    """The Markdown table of every type's EPCIS 2.0 export (``docs/interop.md``, between the
    ``epcis-table`` markers), from each class's ``epcis``, ``epcis_slots``, ``epcis_extra`` and
    ``epcis_ilmd``."""
    rows = ["| native type | EPCIS event | action | bizStep | disposition | identifier slots | other fields |",
            "|---|---|---|---|---|---|---|"]
    return "\n".join(rows + [epcis_row(c) for c in CLASSES])
