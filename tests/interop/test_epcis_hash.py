"""The CBV 2.0 event hash: a known vector from the reference implementation and the rules."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from battrace.interop.epcis_hash import (
    canonical_number,
    canonical_time,
    context_prefixes,
    event_hash,
    prehash_string,
)

# From the reference implementation's test suite (RalphTro/epcis-event-hash-generator,
# tests/examples/epcisDocWithSingleEvent.{jsonld,prehashes,hashes}, copied under
# tests/interop/data/epcis_hash_reference); the event is re-typed here.
VECTOR_EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
    "eventTime": "2022-02-16T20:33:31.116000-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
}
VECTOR_PREHASH = (
    "eventType=ObjectEventeventTime=2022-02-17T02:33:31.116ZeventTimeZoneOffset=-06:00"
    "epcListepc=https://id.gs1.org/01/10614141073464/21/2017epc=https://id.gs1.org/01/10614141073464/21/2018"
    "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shippingdisposition=https://ref.gs1.org/cbv/Disp-in_transit"
    "readPointid=https://id.gs1.org/414/0614141073467/254/1234"
    "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=http://transaction.acme.com/po/12345678"
)
VECTOR_HASH = "ni:///sha-256;ffa491b16867e34a7791a8d5389d826afc24e63a121026b6a4004ace38631b4b?ver=CBV2.0"


def test_reference_vector_prehash_string() -> None:
    assert prehash_string(VECTOR_EVENT) == VECTOR_PREHASH


def test_reference_vector_hash() -> None:
    assert event_hash(VECTOR_EVENT) == VECTOR_HASH
    assert hashlib.sha256(VECTOR_PREHASH.encode()).hexdigest() in VECTOR_HASH


def test_hash_ignores_key_order_event_id_record_time_and_context() -> None:
    shuffled = dict(reversed(list(VECTOR_EVENT.items())))
    shuffled.update({"eventID": "urn:uuid:1", "recordTime": "2030-01-01T00:00:00Z",
                     "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]})
    assert event_hash(shuffled) == VECTOR_HASH


def test_hash_ignores_list_order_and_surrounding_whitespace() -> None:
    event = {**VECTOR_EVENT, "epcList": list(reversed(VECTOR_EVENT["epcList"])), "action": " OBSERVE "}
    assert event_hash(event) == VECTOR_HASH


def test_hash_is_the_same_for_equivalent_notations() -> None:
    event = {
        **VECTOR_EVENT,
        "eventTime": "2022-02-17T02:33:31.116Z",  # same instant in UTC
        "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping",  # web URI instead of bare word
        "disposition": "cbv:Disp-in_transit",  # CURIE
        "epcList": ["https://example.com/01/10614141073464/21/2017?x=1",  # custom-domain Digital Link
                    "https://id.gs1.org/01/10614141073464/21/2018"],
    }
    assert event_hash(event) == VECTOR_HASH


def test_hash_changes_when_a_value_changes() -> None:
    assert event_hash({**VECTOR_EVENT, "disposition": "in_progress"}) != VECTOR_HASH
    assert event_hash({**VECTOR_EVENT, "example:x": "1"}) != VECTOR_HASH


@pytest.mark.parametrize(("value", "text"), [
    (1, "1"), (1.0, "1"), (0.3434, "0.3434"), (350.4, "350.4"), (1e-7, "1e-07"), ("+12.10", "12.1"),
    (2e20, "200000000000000000000"),
    (-0.0, "0"), (True, "true"),
])
def test_numbers_are_written_as_the_reference_writes_them(value: float | str, text: str) -> None:
    assert canonical_number(value) == text


@pytest.mark.parametrize(("value", "text"), [
    ("2020-03-04T11:00:30+01:00", "2020-03-04T10:00:30.000Z"),
    ("2020-03-04T11:00:30.1234567+01:00", "2020-03-04T10:00:30.123Z"),
    ("2020-03-04T10:00:30Z", "2020-03-04T10:00:30.000Z"),
    ("2020-03-04T11:00:30.1236+01:00", "2020-03-04T10:00:30.124Z"),  # CBV 2.1: rounded, not cut
    ("2020-03-04T23:59:59.9996Z", "2020-03-05T00:00:00.000Z"),  # rounding carries into the next day
])
def test_timestamps_are_utc_with_milliseconds(value: str, text: str) -> None:
    assert canonical_time(value) == text


def test_user_extensions_are_namespaced_nested_and_sorted() -> None:
    event = {
        "type": "ObjectEvent", "action": "OBSERVE", "epcList": [],
        "eventTime": "2020-03-04T11:00:30.000+01:00", "eventTimeZoneOffset": "+01:00",
        "readPoint": {"id": "https://example.com/loc/1", "example:inside": "AB-12"},
        "example:myField2": "0",
        "example:myField1": {"example:mySubField2": "5", "example:mySubField1": "2"},
        "example:myField3": {"example:mySubField3": ["3", "1"]},
    }
    ns = "{https://ns.example.com/epcis/}"
    prefixes = context_prefixes({"example": "https://ns.example.com/epcis/"})
    assert prehash_string(event, prefixes=prefixes) == (
        "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00action=OBSERVE"
        f"readPointid=https://example.com/loc/1{ns}inside=AB-12"
        f"{ns}myField1{ns}mySubField1=2{ns}mySubField2=5"
        f"{ns}myField2=0"
        f"{ns}myField3{ns}mySubField3=1{ns}mySubField3=3"
    )


def test_typed_items_put_the_type_first() -> None:
    event = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2020-01-01T00:00:00Z",
             "eventTimeZoneOffset": "+00:00",
             "sourceList": [{"type": "possessing_party", "source": "https://id.battrace.org/org/B"},
                            {"type": "owning_party", "source": "https://id.battrace.org/org/A"}]}
    assert prehash_string(event).endswith(
        "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.battrace.org/org/A"
        "type=https://ref.gs1.org/cbv/SDT-possessing_partysource=https://id.battrace.org/org/B")


def test_battrace_json_literals_hash_as_canonical_json() -> None:
    event = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2020-01-01T00:00:00Z",
             "eventTimeZoneOffset": "+00:00", "bt:data": {"b": [1, 2.50], "a": "x"}}
    assert prehash_string(event).endswith('{https://battrace.org/epcis/}data={"a":"x","b":[1,2.5]}')


def test_sensor_reports_and_quantities_are_canonical() -> None:
    event = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2020-01-01T00:00:00Z",
             "eventTimeZoneOffset": "+00:00",
             "quantityList": [{"epcClass": "https://id.battrace.org/material/li", "quantity": 2.50, "uom": "KGM"}],
             "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 26.0, "uom": "CEL"},
                                                     {"type": "bt:state_of_health", "value": 0.8}]}]}
    text = prehash_string(event)
    assert "quantityListquantityElementepcClass=https://id.battrace.org/material/liquantity=2.5uom=KGM" in text
    assert ("sensorElementListsensorElementsensorReporttype=https://battrace.org/epcis/state_of_healthvalue=0.8"
            "sensorReporttype=https://gs1.org/voc/Temperaturevalue=26uom=CEL") in text


def test_an_error_declaration_keeps_the_hash_of_the_event_it_corrects() -> None:
    declared = {**VECTOR_EVENT,
                "errorDeclaration": {"declarationTime": "2020-01-01T00:00:00Z", "reason": "incorrect_data"}}
    assert event_hash(declared) == VECTOR_HASH


def test_certification_info_follows_the_time_zone_offset() -> None:
    text = prehash_string({**VECTOR_EVENT, "certificationInfo": "https://cert.example.org/ABC"})
    assert "eventTimeZoneOffset=-06:00certificationInfo=https://cert.example.org/ABCepcList" in text


def test_unknown_digests_are_refused() -> None:
    with pytest.raises(ValueError, match="sha-1"):
        event_hash(VECTOR_EVENT, algorithm="sha-1")


def test_other_digests_use_their_ni_names() -> None:
    assert event_hash(VECTOR_EVENT, algorithm="sha-512").startswith("ni:///sha-512;")
