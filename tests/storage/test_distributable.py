"""The schema stays distributable on Citus: read from battrace/storage/schema.py, checked against the
plan in battrace/storage/citus.py (Citus itself cannot be installed here)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, UniqueConstraint

from battrace.storage import citus, schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scale.md"


def test_the_schema_has_exactly_the_known_blockers() -> None:
    found = citus.problems(schema.metadata)
    assert sorted(found) == sorted(citus.BLOCKERS), found
    for table in citus.BLOCKERS:
        assert found[table], table


def test_every_table_is_classified_once() -> None:
    assert not set(citus.DISTRIBUTED) & citus.REFERENCE
    assert set(schema.metadata.tables) <= set(citus.DISTRIBUTED) | citus.REFERENCE
    for group in citus.COLOCATED:
        assert group <= set(citus.DISTRIBUTED)


def _plan_metadata() -> MetaData:
    md = MetaData()
    Table("parent", md, Column("code", String, primary_key=True))
    Table("ref", md, Column("id", Integer, primary_key=True))
    return md


def test_a_unique_key_without_the_distribution_column_is_found() -> None:
    md = _plan_metadata()
    Table("child", md, Column("code", String, primary_key=True), Column("email", String),
          UniqueConstraint("email", name="uq_child_email"))
    found = citus.problems(md, {"parent": "code", "child": "code"}, {"ref"}, ())
    assert found == {"child": ["child: unique uq_child_email (email) does not contain the distribution column code"]}


def test_a_foreign_key_across_distribution_columns_is_found() -> None:
    md = _plan_metadata()
    Table("child", md, Column("id", Integer, primary_key=True), Column("code", String, ForeignKey("parent.code")),
          Column("ref_id", Integer, ForeignKey("ref.id")))
    found = citus.problems(md, {"parent": "code", "child": "id"}, {"ref"}, (frozenset({"parent", "child"}),))
    assert list(found) == ["child"] and "foreign key to parent" in found["child"][0]
    colocated = MetaData()
    Table("parent", colocated, Column("code", String, primary_key=True))
    Table("ref", colocated, Column("id", Integer, primary_key=True))
    Table("child", colocated, Column("code", String, ForeignKey("parent.code"), primary_key=True),
          Column("ref_id", Integer, ForeignKey("ref.id")))
    assert citus.problems(colocated, {"parent": "code", "child": "code"}, {"ref"},
                          (frozenset({"parent", "child"}),)) == {}


def test_an_unclassified_table_is_found() -> None:
    md = _plan_metadata()
    Table("newcomer", md, Column("id", Integer, primary_key=True))
    found = citus.problems(md, {"parent": "code"}, {"ref"}, ())
    assert list(found) == ["newcomer"] and "classify it" in found["newcomer"][0]


def test_docs_give_every_table_its_place_and_the_statements() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for table in schema.metadata.tables:
        assert f"`{table}`" in text, table
    for statement in citus.distribution_sql():
        assert statement in text, statement
