"""Database tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

``events`` and ``event_links`` are the append-only, hash-chained log (the database refuses UPDATE
and DELETE on them: see the migrations). Everything else is a read model or a registry, updated in
the same transaction as the append.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCTime(TypeDecorator[datetime]):
    """A timezone-aware instant: ``timestamptz`` on PostgreSQL, sortable ISO-8601 UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value.astimezone(UTC)


metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(32), nullable=False),
    Column("region", String(6)),
    Column("doc", Text, nullable=False),
    Column("updated_at", UTCTime, nullable=False),
)

#: The registry's stamp: one row (id 1) whose ``version`` a trigger on ``orgs`` raises on every change
#: (migration 0015), so a reader checks its cached registry by one row, not by scanning ``orgs``.
orgs_stamp = Table(
    "orgs_stamp",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("reporter", String(18), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("type", String(40), nullable=False),
    Column("occurred_at", UTCTime, nullable=False),
    Column("recorded_at", UTCTime, nullable=False),
    Column("imported", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    #: The schema version of the body's event type when it was written (migration 0012): metadata,
    #: not covered by the hash; verify checks an upcaster chain leads from it to today's version.
    Column("schema_version", SmallInteger, nullable=False, server_default="1"),
    UniqueConstraint("reporter", "event_id", name="uq_events_reporter_event_id"),
)
Index("ix_events_type_occurred", events.c.type, events.c.occurred_at)
#: The log's time index: BRIN on PostgreSQL (appended in time order), a B-tree on SQLite (migration 0006).
Index("ix_events_recorded_at", events.c.recorded_at, postgresql_using="brin")

event_links = Table(
    "event_links",
    metadata,
    Column("stream", String(96), nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("stream", "version", name="pk_event_links"),
)
Index("ix_event_links_seq", event_links.c.seq)

batteries = Table(
    "batteries",
    metadata,
    Column("code", String(24), primary_key=True),
    Column("level", String(1), nullable=False),
    Column("chemistry", String(16), nullable=False),
    Column("maker", String(18)),
    Column("model", Text),
    Column("state", String(16), nullable=False),
    Column("custodian", String(18)),
    Column("vin", String(17)),
    Column("parent", String(24)),
    Column("remade", Boolean, nullable=False),
    Column("waste", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)
Index("ix_batteries_parent", batteries.c.parent)
Index("ix_batteries_vin", batteries.c.vin)
Index("ix_batteries_state", batteries.c.state)
Index("ix_batteries_level_state", batteries.c.level, batteries.c.state)
Index("ix_batteries_custodian_state", batteries.c.custodian, batteries.c.state)

#: The components of each battery (migration 0016): one row per battery with a parent, kept from
#: ``batteries.parent`` by triggers on ``batteries``; on PostgreSQL partitioned by ``parent``, so a
#: passport's components are one probe, not one per partition of ``batteries``.
components = Table(
    "components",
    metadata,
    Column("parent", String(24), nullable=False),
    Column("code", String(24), nullable=False),
    PrimaryKeyConstraint("parent", "code", name="pk_components"),
)

vehicles = Table(
    "vehicles",
    metadata,
    Column("vin", String(17), primary_key=True),
    Column("maker", String(18), nullable=False),
    Column("state", String(16), nullable=False),
    Column("swap_model", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)
Index("ix_vehicles_maker", vehicles.c.maker)

lineage = Table(
    "lineage",
    metadata,
    Column("product", String(24), nullable=False),
    Column("source", String(24), nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("product", "source", name="pk_lineage"),
)
Index("ix_lineage_source", lineage.c.source)

techinfo = Table(
    "techinfo",
    metadata,
    Column("stream", String(96), primary_key=True),
    Column("maker", String(18), nullable=False),
    Column("model", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

#: The log's tables (append-only) and the read models rebuilt from it.
LOG_TABLES = ("events", "event_links")
READ_MODELS = ("batteries", "vehicles", "lineage", "techinfo")

# -- access: API keys and the audit log of restricted reads -------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("org", String(18)),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("label", Text),
    Column("created_at", UTCTime, nullable=False),
    Column("revoked_at", UTCTime),
)
Index("ix_api_keys_org", api_keys.c.org)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCTime, nullable=False),
    Column("actor_org", String(18)),
    Column("key_id", String(16)),
    Column("action", String(64), nullable=False),
    Column("resource", Text, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reason", Text),
    #: The moment a read asked for (``?at=``), its stated purpose, and the battery it concerned.
    Column("as_of", UTCTime),
    Column("purpose", Text),
    Column("battery", String(24)),
    #: The chain link: sha256 of the previous row's link and this row's content (storage/audit.py).
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_audit_log_actor", audit_log.c.actor_org)

#: The head of each audit chain (one: ``audit``): its length and last link. Audit writers serialise
#: on this row, not on the ledger's writer lock.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("length", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
)

# -- compliance findings ----------------------------------------------------------------------

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(8), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("batteries", Text, nullable=False),
    Column("vin", String(17)),
    Column("orgs", Text, nullable=False),
    Column("responsible", String(18)),
    Column("region", String(6)),
    Column("event_seq", BigInteger),
    Column("event_id", String(128)),
    Column("raised_at", UTCTime, nullable=False),
    Column("due_at", UTCTime),
    Column("resolved_seq", BigInteger),
    Column("resolved_at", UTCTime),
    Column("message_zh", Text, nullable=False),
    Column("message_en", Text, nullable=False),
    Column("detail", Text, nullable=False),
)
Index("ix_findings_rule_state", findings.c.rule, findings.c.state)

finding_subjects = Table(
    "finding_subjects",
    metadata,
    Column("finding_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", String(24), nullable=False),
    PrimaryKeyConstraint("finding_id", "kind", "value", name="pk_finding_subjects"),
)
Index("ix_finding_subjects_value", finding_subjects.c.kind, finding_subjects.c.value)

# -- compliance engine read models (migration 0003) -----------------------------------------------

#: Pending situations that become R04b / R05 findings when they last too long ("as of" a date).
compliance_timers = Table(
    "compliance_timers",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("deadline", String(64), nullable=False),
    Column("raised", Boolean, nullable=False),
    Column("since", UTCTime, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("battery", String(24)),
    Column("vin", String(17)),
    Column("org", String(18)),
    Column("responsible", String(18)),
    Column("region", String(6)),
)
Index("ix_compliance_timers_due", compliance_timers.c.kind, compliance_timers.c.deadline,
      compliance_timers.c.raised, compliance_timers.c.since)

#: Vehicles sold per (vehicle maker, province), for R11 (outlet coverage).
compliance_sales = Table(
    "compliance_sales",
    metadata,
    Column("maker", String(18), nullable=False),
    Column("province", String(6), nullable=False),
    Column("vehicles", Integer, nullable=False),
    Column("first_seq", BigInteger),
    Column("first_event_id", String(128)),
    PrimaryKeyConstraint("maker", "province", name="pk_compliance_sales"),
)

findings.append_column(Column("resolved_event_id", String(128)))
Index("ix_findings_state_region", findings.c.state, findings.c.region)

# -- BMS early warning (migration 0004) --------------------------------------------------------------

#: Alarms raised by the BMS early-warning monitor (``battrace.services.telemetry``): one row per
#: episode (battery, hazard, first frame); ``last_at`` follows a condition that lasts.
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("battery", String(24), nullable=False),
    Column("vin", String(17)),
    Column("hazard", String(40), nullable=False),
    Column("level", Integer, nullable=False),
    Column("response", String(16), nullable=False),
    Column("first_at", UTCTime, nullable=False),
    Column("last_at", UTCTime, nullable=False),
    Column("raised_at", UTCTime, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("maker", String(18)),
    Column("vehicle_maker", String(18)),
    Column("region", String(6)),
    Column("source", String(16), nullable=False),
    UniqueConstraint("battery", "hazard", "first_at", name="uq_alarms_episode"),
)
Index("ix_alarms_first_at", alarms.c.first_at)
Index("ix_alarms_region", alarms.c.region)
Index("ix_alarms_maker", alarms.c.maker)
Index("ix_alarms_vehicle_maker", alarms.c.vehicle_maker)

# -- hash-chained records (migration 0007) ------------------------------------------------------------

#: Every change to a finding (raised, resolved), as an append-only hash chain
#: (:mod:`battrace.storage.chain`); ``body`` is the finding's whole row after the change.
finding_log = Table(
    "finding_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_finding_log_subject", finding_log.c.subject)


# -- regulator statistics, maintained as events arrive (migration 0011) -------------------------------

#: Batteries by (level, state, chemistry, region of the holder), the holder being the custodian or else
#: the maker; ``region`` is '' when the holder has none. Updated in the ingest transaction by deltas,
#: each transaction into one of a few ``slot`` rows of a bucket, so that concurrent writers do not
#: queue on one counter row; a reader sums the slots.
battery_counts = Table(
    "battery_counts",
    metadata,
    Column("level", String(1), nullable=False),
    Column("state", String(16), nullable=False),
    Column("chemistry", String(16), nullable=False),
    Column("region", String(6), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("level", "state", "chemistry", "region", "slot", name="pk_battery_counts"),
)

#: Retirement events (removed, replaced) by month (Asia/Shanghai) of occurrence and the reporter's region.
retirement_counts = Table(
    "retirement_counts",
    metadata,
    Column("month", String(7), nullable=False),
    Column("region", String(6), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("month", "region", "slot", name="pk_retirement_counts"),
)

#: The dashboard's aggregates (migration 0013, :mod:`battrace.storage.dashboard`), added to in the
#: ingest transaction like the two above, into a writer's ``slot``; keyed by organisation (not by its
#: region), so that a region change moves nothing: readers place the organisations when they read.
#: Events per reporter (the reporting league).
reporter_counts = Table(
    "reporter_counts",
    metadata,
    Column("reporter", String(18), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("reporter", "slot", name="pk_reporter_counts"),
)

#: Hand-overs (``battery.handed_over``) by sender and receiver: batteries and hand-overs in all, and
#: those of batteries already waste when handed over (the waste flows the dashboard shows).
flow_counts = Table(
    "flow_counts",
    metadata,
    Column("sender", String(18), nullable=False),
    Column("receiver", String(18), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("batteries", BigInteger, nullable=False),
    Column("handovers", BigInteger, nullable=False),
    Column("waste_batteries", BigInteger, nullable=False),
    Column("waste_handovers", BigInteger, nullable=False),
    PrimaryKeyConstraint("sender", "receiver", "slot", name="pk_flow_counts"),
)

#: Packs installed (``vehicle.certified``) by the vehicle's region (``''`` when it has none; then
#: ``org`` is the vehicle maker, whose region places them) and year of certification.
installation_counts = Table(
    "installation_counts",
    metadata,
    Column("region", String(6), nullable=False),
    Column("org", String(18), nullable=False),
    Column("year", String(4), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("packs", BigInteger, nullable=False),
    PrimaryKeyConstraint("region", "org", "year", "slot", name="pk_installation_counts"),
)

#: The aggregates that :mod:`battrace.services.counts` keeps in step with the read models.
AGGREGATES = ("battery_counts", "retirement_counts", "reporter_counts", "flow_counts", "installation_counts")


# -- supervision: cases, notifications, public reports, outlets (migration 0008) -------------------

#: A supervision case (``battrace.domain.cases``): the current state; its steps are the record.
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org", String(18), nullable=False),
    Column("region", String(6)),
    Column("department", String(16), nullable=False),
    Column("state", String(24), nullable=False),
    Column("title", Text, nullable=False),
    Column("opened_by", String(18), nullable=False),
    Column("opened_at", UTCTime, nullable=False),
    Column("updated_at", UTCTime, nullable=False),
    Column("closed_at", UTCTime),
    Column("due_date", String(10)),
    Column("report", String(24)),
    Column("version", Integer, nullable=False),
    Column("head", String(64), nullable=False),
)
Index("ix_cases_org", cases.c.org)
Index("ix_cases_region_state", cases.c.region, cases.c.state)

case_findings = Table(
    "case_findings",
    metadata,
    Column("case_id", Integer, nullable=False),
    Column("finding_id", Integer, nullable=False),
    PrimaryKeyConstraint("case_id", "finding_id", name="pk_case_findings"),
)
Index("ix_case_findings_finding", case_findings.c.finding_id)

#: The append-only, hash-chained steps of every case (the database refuses UPDATE and DELETE).
case_steps = Table(
    "case_steps",
    metadata,
    Column("case_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", UTCTime, nullable=False),
    Column("actor", String(18), nullable=False),
    Column("action", String(16), nullable=False),
    Column("state", String(24), nullable=False),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("case_id", "version", name="pk_case_steps"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org", String(18)),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", UTCTime, nullable=False),
    Column("active", Boolean, nullable=False),
)
Index("ix_webhook_subscriptions_org", webhook_subscriptions.c.org)

#: The durable outbox: one row per (subscription, message), written in the transaction of what it
#: tells, delivered and retried with back-off by ``battrace.services.webhooks``.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False),
    Column("msg_id", String(80), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCTime, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCTime, nullable=False),
    Column("last_attempt_at", UTCTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", UTCTime),
    UniqueConstraint("subscription_id", "msg_id", name="uq_webhook_outbox_msg"),
)
Index("ix_webhook_outbox_due", webhook_outbox.c.status, webhook_outbox.c.next_attempt_at)

public_reports = Table(
    "public_reports",
    metadata,
    Column("receipt", String(24), primary_key=True),
    Column("code", String(64), nullable=False),
    Column("what", Text, nullable=False),
    Column("region", String(6), nullable=False),
    Column("contact", Text),
    Column("client", String(64), nullable=False),
    Column("created_at", UTCTime, nullable=False),
    Column("updated_at", UTCTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("battery", String(24)),
    Column("case_id", Integer),
    Column("reason", Text),
    Column("triaged_by", String(18)),
)
Index("ix_public_reports_client", public_reports.c.client, public_reports.c.created_at)
Index("ix_public_reports_region_state", public_reports.c.region, public_reports.c.state)

#: The collection outlets directory (public), which rule R11 also reads.
outlets = Table(
    "outlets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("operated_for", String(18), nullable=False),
    Column("operator", String(18)),
    Column("region", String(6), nullable=False),
    Column("address", Text, nullable=False),
    Column("accepts", Text, nullable=False),
    Column("created_at", UTCTime, nullable=False),
)
Index("ix_outlets_operated_for", outlets.c.operated_for)
Index("ix_outlets_region", outlets.c.region)
