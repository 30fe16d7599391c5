"""The reference implementation's test suite, run against battrace's own CBV 2.0 event hash.

Test documents, expected hashes and the Digital Link cases come from the public reference
implementation (RalphTro/epcis-event-hash-generator, MIT licence; see
``data/epcis_hash_reference/README.md``). Its suite has five parts, each mirrored here:
explicit hash values, no collisions / equal representations, the Digital Link normaliser, every
value present in the pre-hash string, and the reading of JSON-LD bare words and XML extensions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from battrace.interop.epcis_digital_link import canonical_digital_link
from battrace.interop.epcis_hash import (
    Node,
    _JsonReader,
    _xml_tree,
    canonical_value,
    context_prefixes,
    document_hashes,
    document_prehashes,
)

DATA = Path(__file__).parent / "data" / "epcis_hash_reference"
EXAMPLES = sorted(p for p in (DATA / "examples").iterdir() if p.suffix in (".xml", ".json", ".jsonld"))
EQUAL = sorted(p for p in (DATA / "expected_equal").iterdir() if p.suffix in (".xml", ".json", ".jsonld"))


def test_the_reference_documents_are_here() -> None:
    assert len(EXAMPLES) > 20 and len(EQUAL) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_explicit_hash_values(path: Path) -> None:
    expected = (path.parent / f"{path.stem}.hashes").read_text().splitlines()
    assert len(expected) > 0
    assert document_hashes(path.read_text("utf-8")) == expected


def _consistent_prehashes(path: Path) -> bool:
    """A ``.prehashes`` file that hashes to its ``.hashes`` (three in the reference are stale)."""
    pre = path.parent / f"{path.stem}.prehashes"
    if not pre.exists():
        return False
    lines = [line for line in pre.read_text("utf-8").splitlines() if line]
    expected = (path.parent / f"{path.stem}.hashes").read_text().splitlines()
    return [hashlib.sha256(line.encode()).hexdigest() for line in lines] == [h[14:78] for h in expected]


@pytest.mark.parametrize("path", [p for p in EXAMPLES if _consistent_prehashes(p)], ids=lambda p: p.name)
def test_explicit_prehash_strings(path: Path) -> None:
    expected = (path.parent / f"{path.stem}.prehashes").read_text("utf-8").splitlines()
    assert document_prehashes(path.read_text("utf-8")) == [e for e in expected if e]


def test_distinct_events_have_distinct_hashes() -> None:
    hashes = [h for p in EXAMPLES if p.suffix == ".xml" for h in document_hashes(p.read_text("utf-8"))]
    assert len(hashes) > 20
    assert len(set(hashes)) == len(hashes)


@pytest.mark.parametrize("path", EQUAL, ids=lambda p: p.name)
def test_different_representations_of_one_event_have_one_hash(path: Path) -> None:
    hashes = document_hashes(path.read_text("utf-8"))
    assert len(hashes) >= 2
    assert len(set(hashes)) == 1


DIGITAL_LINK_CASES = [
    ('urn:epc:id:sgtin:4012345.011111.98%22', "https://id.gs1.org/01/04012345111118/21/98%22"),
    ('urn:epc:id:sgtin:415056789012.0.987654', "https://id.gs1.org/01/04150567890128/21/987654"),
    ('urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()', "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"),
    ('urn:epc:id:sscc:4012345.3111111111', "https://id.gs1.org/00/340123451111111111"),
    ('urn:epc:id:sgln:4012345.00005.122', "https://id.gs1.org/414/4012345000054/254/122"),
    ('urn:epc:id:sgln:4012345.00005.0', "https://id.gs1.org/414/4012345000054"),
    ('urn:epc:id:grai:4012345.00022.334455', "https://id.gs1.org/8003/04012345000221334455"),
    ('urn:epc:id:giai:4012345.ABC345', "https://id.gs1.org/8004/4012345ABC345"),
    ('urn:epc:id:gsrn:4012345.0000006765', "https://id.gs1.org/8018/401234500000067657"),
    ('urn:epc:id:gsrnp:4012345.0000000007', "https://id.gs1.org/8017/401234500000000074"),
    ('urn:epc:id:gdti:4012345.00009.PO-4711', "https://id.gs1.org/253/4012345000092PO-4711"),
    ('urn:epc:id:gdti:987659999999..9', "https://id.gs1.org/253/98765999999929"),
    ('urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234', "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234"),
    ('urn:epc:id:ginc:0614141.xyz47%2F11', "https://id.gs1.org/401/0614141xyz47%2F11"),
    ('urn:epc:id:gsin:4012345.222333444', "https://id.gs1.org/402/40123452223334442"),
    ('urn:epc:id:itip:4012345.011111.01.02.987', "https://id.gs1.org/8006/040123451111180102/21/987"),
    ('urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB', "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB"),
    ('urn:epc:id:pgln:4000001.00000', "https://id.gs1.org/417/4000001000005"),
    ('urn:epc:id:pgln:999999999999.', "https://id.gs1.org/417/9999999999994"),
    ('urn:epc:class:lgtin:4012345.012345.Lot987', "https://id.gs1.org/01/04012345123456/10/Lot987"),
    ('urn:epc:idpat:sgtin:4012345.012345.*', "https://id.gs1.org/01/04012345123456"),
    ('urn:epc:idpat:grai:4012345.99999.*', "https://id.gs1.org/8003/04012345999990"),
    ('urn:epc:idpat:gdti:4012345.11111.*', "https://id.gs1.org/253/4012345111118"),
    ('urn:epc:idpat:sgcn:4012345.22222.*', "https://id.gs1.org/255/4012345222227"),
    ('urn:epc:idpat:cpi:4012345.AB12.*', "https://id.gs1.org/8010/4012345AB12"),
    ('urn:epc:idpat:itip:4012345.012345.01.02.*', "https://id.gs1.org/8006/040123451234560102"),
    ('urn:epc:idpat:upui:4012345.012345.*', "https://id.gs1.org/01/04012345123456"),
    ('https://id.gs1.org/gtin/09780345418913', "https://id.gs1.org/01/09780345418913"),
    ('https://example.com/gtin/09780345418913/21/765tz?abc=211121', "https://id.gs1.org/01/09780345418913/21/765tz"),
    ('http://example.de/gtin-8/01/97803111', "https://id.gs1.org/01/00000097803111"),
    ('http://us-company-with-UPC.com/01/001122334455', "https://id.gs1.org/01/00001122334455"),
    ('http://us-company-with-UPC.com/01/001122334455/ser/GHB', "https://id.gs1.org/01/00001122334455/21/GHB"),
    ('https://ean-13.de/gtin/4012345123456/ser/ABC524', "https://id.gs1.org/01/04012345123456/21/ABC524"),
    ('http://id.gs1.org/gtin/9780345418913', "https://id.gs1.org/01/09780345418913"),
    ('https://id.gs1.org/gtin/9780345418913/cpv/344/lot/1223/ser/765tz', "https://id.gs1.org/01/09780345418913/21/765tz"),
    ('https://id.gs1.org/gtin/9780345418913/cpv/344', "https://id.gs1.org/01/09780345418913"),
    ('https://example.de/gtin/04012345123456/cpv/344/ser/987654', "https://id.gs1.org/01/04012345123456/21/987654"),
    ('http://example.de/01/040123451234/cpv/344/lot/ABD', "https://id.gs1.org/01/00040123451234/10/ABD"),
    ('https://id.gs1.org/01/9780345418913/22/344/10/1223/21/765tz', "https://id.gs1.org/01/09780345418913/21/765tz"),
    ('https://id.gs1.org/itip/123456789101100190/cpv/ABCD', "https://id.gs1.org/8006/123456789101100190"),
    ('https://fashion-corp.com/8006/040123451234560102/22/AB/21/443322', "https://id.gs1.org/8006/040123451234560102/21/443322"),
    ('https://id.gs1.org/8006/040123451234560102/22/ABCD/10/XYZ', "https://id.gs1.org/8006/040123451234560102/10/XYZ"),
    ('https://fashion-corp.com/8006/040123451234560102/10/Lot-123/21/ser987', "https://id.gs1.org/8006/040123451234560102/21/ser987"),
    ('https://gs1.test.example.org/01/9780345418913/10/1223', "https://id.gs1.org/01/09780345418913/10/1223"),
    ('https://example.org/01/9780345418913/21/765tz?11=221109', "https://id.gs1.org/01/09780345418913/21/765tz"),
    ('https://example.org/01/9780345418913/21/765tz?abc=211121', "https://id.gs1.org/01/09780345418913/21/765tz"),
    ('https://id.gs1.org/00/340123453111111115', "https://id.gs1.org/00/340123453111111115"),
    ('https://id.gs1.org/414/4226350800008', "https://id.gs1.org/414/4226350800008"),
    ('https://example.co.uk/party/4226350800008', "https://id.gs1.org/417/4226350800008"),
    ('https://id.gs1.org/414/4280000000002/254/12', "https://id.gs1.org/414/4280000000002/254/12"),
    ('https://id.gs1.org/8003/03870585000552987', "https://id.gs1.org/8003/03870585000552987"),
    ('https://id.gs1.org/8004/0180451111ABC987', "https://id.gs1.org/8004/0180451111ABC987"),
    ('https://id.gs1.org/8018/385888700111111111', "https://id.gs1.org/8018/385888700111111111"),
    ('https://id.gs1.org/8017/440018922222222226', "https://id.gs1.org/8017/440018922222222226"),
    ('https://id.gs1.org/253/4602443000331XYZ', "https://id.gs1.org/253/4602443000331XYZ"),
    ('https://id.gs1.org/8010/0628165987/8011/9876', "https://id.gs1.org/8010/0628165987/8011/9876"),
    ('https://id.gs1.org/255/0811625999996554433', "https://id.gs1.org/255/0811625999996554433"),
    ('http://fashion.com/itip/040123451234560102/ser/ABC145', "https://id.gs1.org/8006/040123451234560102/21/ABC145"),
    ('http://example.org/123/4012345ABC987/456/4711', None),
    ('http://id.gs1.org/99/9780345418913', None),
    ('http://id.gs1.org/01/9780345418913/99/utfgf', None),
    ('http://example.de/abc/9780345418913', None),
    ('http://example.de/01/97803', None),
    ('https://id.gs1.org/8006/04012345123456/22/ABCD/10/XYZ', None),
    ('42', None),
    (42, None),
    ('Hello World!', None),
    ('urn:epc:id:sscc:4012345.0000000011', 'https://id.gs1.org/00/040123450000000115'),
    ("urn:epc:id:gsrn:4012345.9876540000", "https://id.gs1.org/8018/401234598765400000"),
    ("urn:epc:id:gsrnp:4012345.0000098765", "https://id.gs1.org/8017/401234500000987658"),
    ("urn:epc:id:gsin:4012345.999987654", "https://id.gs1.org/402/40123459999876541"),]


@pytest.mark.parametrize(("uri", "canonical"), DIGITAL_LINK_CASES)
def test_digital_link_normaliser(uri: object, canonical: str | None) -> None:
    assert canonical_digital_link(uri) == canonical


def _trees(path: Path) -> list[Node]:
    import re
    import xml.etree.ElementTree as ET

    text = path.read_text("utf-8")
    if path.suffix == ".xml":
        root = ET.fromstring(re.sub(r"</?(extension|baseExtension)\s*>", "", text).encode("utf-8"))
        event_list = next(el for el in root.iter() if el.tag.rpartition("}")[2] == "EventList")
        return [_xml_tree(e) for e in event_list if isinstance(e.tag, str)]
    doc = json.loads(text)
    body = doc["epcisBody"]
    events = (body["eventList"] if "eventList" in body else
              body["queryResults"]["resultsBody"]["eventList"] if "queryResults" in body else [body["event"]])
    reader = _JsonReader(context_prefixes(doc.get("@context")))
    return [reader.event(e) for e in events]


def _values(node: Node) -> Iterator[tuple[str, str]]:
    if node.name in ("errorDeclaration", "eventID") or "ignore" in node.name:
        return
    if node.text and "time" not in node.name.lower():
        yield node.name, node.text
    if node.item_type:
        yield "type", node.item_type
    for child in node.children:
        yield from _values(child)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if "IgnoreFields" not in p.name], ids=lambda p: p.name)
def test_all_values_present(path: Path) -> None:
    for tree, prehash in zip(_trees(path), document_prehashes(path.read_text("utf-8")), strict=True):
        for key, value in _values(tree):
            assert canonical_value(value.strip()) in prehash, f"{key}={value!r} missing from {prehash}"


def test_bare_words_of_the_reference_example_are_expanded() -> None:
    (tree,) = _trees(DATA / "examples" / "epcisDocWithSingleEvent.jsonld")
    values = {n.name: n.text for n in tree.children}
    assert values["bizStep"] == "https://ref.gs1.org/cbv/BizStep-shipping"
    assert values["disposition"] == "https://ref.gs1.org/cbv/Disp-in_transit"
    (bts,) = [n for n in tree.children if n.name == "bizTransactionList"]
    assert [(b.item_type, b.text) for b in bts.children] == [
        ("https://ref.gs1.org/cbv/BTT-po", "http://transaction.acme.com/po/12345678")]


def test_xml_extensions_are_read_as_namespaced_children() -> None:
    (tree,) = _trees(DATA / "examples" / "ReferenceEventHashAlgorithm.xml")
    ns = "{https://ns.example.com/epcis/}"
    by_name = {n.name: n for n in tree.children}
    assert tree.name == "ObjectEvent"
    assert sorted((c.name, c.text) for c in by_name[f"{ns}myField1"].children) == [
        (f"{ns}mySubField1", "2"), (f"{ns}mySubField2", "5")]
    assert by_name[f"{ns}myField2"].text == "0"
    assert by_name["readPoint"].children[0].name == "id"
