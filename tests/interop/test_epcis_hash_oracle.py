"""battrace's event hash against the released reference implementation (PyPI
``epcis-event-hash-generator`` 1.9.3, a pinned dev dependency) used as a test oracle, offline."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from battrace.interop.epcis import BT_NS, EPCIS_CONTEXT_URL, to_epcis_document
from battrace.interop.epcis_export import MAPPING
from battrace.interop.epcis_hash import document_hashes
from tests.interop.strategies import native_event

oracle = pytest.importorskip("epcis_event_hash_generator.hash_generator",
                             reason="the dev dependency epcis-event-hash-generator is not installed")
reader = pytest.importorskip("epcis_event_hash_generator.events_from_file_reader")

EXAMPLES = Path(__file__).parent / "data" / "epcis_hash_reference" / "examples"
# documents using features newer than release 1.9.3 (query documents, ignoreFields)
NEWER_THAN_RELEASE = {
    "epcisDocHavingEventWithIgnoreFields.jsonld", "epcisQueryDocHavingEventWithIgnoreFields.jsonld",
    "epcisQueryDocument.jsonld", "epcisQueryDocument.xml", "epcisXmlDocHavingEventWithIgnoreFields.xml",
    "epcisXmlQueryDocHavingEventWithIgnoreFields.xml",
}
JSON_LITERALS = ("data", "features", "components_replaced")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise OSError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _oracle(path: Path) -> list[str]:
    hashes: list[str] = oracle.epcis_hashes_from_events(reader.event_list_from_file(str(path)))
    return hashes


@pytest.mark.parametrize("path", sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".xml", ".json", ".jsonld")
                                        and p.name not in NEWER_THAN_RELEASE), ids=lambda p: p.name)
def test_the_released_oracle_agrees_on_the_reference_documents(path: Path) -> None:
    assert document_hashes(path.read_text("utf-8")) == _oracle(path)


# not compared: vehicle.sold, whose business transaction has no type — the release cannot hash an
# untyped bizTransaction (IndexError)
NOT_COMPARED = ("vehicle.sold",)


@pytest.mark.parametrize("event_type", sorted(t for t in MAPPING if t not in NOT_COMPARED))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_our_exported_event_ids_are_what_the_oracle_computes(event_type: str, data: st.DataObject,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    event = data.draw(native_event(event_type))
    event = {k: v for k, v in event.items() if k not in JSON_LITERALS}  # our own convention (see epcis_hash)
    doc = to_epcis_document([event], created_at=datetime(2026, 6, 1, tzinfo=UTC))
    # the released oracle cannot read term definitions in an inline context: give it our prefix only
    plain = {**doc, "@context": [EPCIS_CONTEXT_URL, {"bt": BT_NS}]}
    path = tmp_path_factory.mktemp("oracle") / "doc.jsonld"
    path.write_text(json.dumps(plain, ensure_ascii=False), "utf-8")
    expected = _oracle(path)
    # the release drops an event it cannot hash (a value such as "INF", or a time whose rounding
    # carries into the next second); battrace hashes those too
    assume(expected)
    assert [e["eventID"] for e in doc["epcisBody"]["eventList"]] == expected


def test_bare_words_are_expanded_across_the_whole_document_as_the_oracle_does(tmp_path: Path) -> None:
    """The reference expands a bare word wherever it ends a vocabulary IRI used anywhere in the
    document — here a user extension in the second event takes the first event's business step."""
    base = {"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00Z", "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE"}
    doc = {"@context": [EPCIS_CONTEXT_URL, {"ex": "https://ex.org/"}], "type": "EPCISDocument",
           "schemaVersion": "2.0", "creationDate": "2020-01-01T00:00:00Z",
           "epcisBody": {"eventList": [
               {**base, "epcList": ["urn:epc:id:sgtin:0614141.107346.1"], "bizStep": "shipping"},
               {**base, "epcList": ["urn:epc:id:sgtin:0614141.107346.2"], "ex:note": "shipping"}]}}
    path = tmp_path / "doc.jsonld"
    path.write_text(json.dumps(doc), "utf-8")
    assert document_hashes(path.read_text("utf-8")) == _oracle(path)
