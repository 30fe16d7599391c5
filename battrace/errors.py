"""One error hierarchy for the whole platform.

Every error has a stable machine ``code`` and an HTTP ``status``; each face (API, web, CLI) maps
them once: the API to the canonical JSON body, the web to an error page, the CLI to exit code 1
with a one-line message.

    BattraceError                       500 internal_error
    ├── ValidationError                 422 invalid_input
    │   ├── InvalidCode                 422 invalid_code        (R06)
    │   ├── InvalidVin                  422 invalid_vin
    │   ├── InvalidCreditCode           422 invalid_credit_code
    │   ├── InvalidEvent                422 invalid_event
    │   │   ├── ImplausibleTime         422 implausible_time     (before 2000, or ahead of the platform's clock)
    │   │   ├── NestingTooDeep          422 nesting_too_deep
    │   │   ├── EventTooLarge           422 event_too_large
    │   │   ├── NumberOutOfRange        422 number_out_of_range  (beyond ±(2^63-1); a float literal beyond double)
    │   │   ├── NonFiniteNumber         422 non_finite_number    (NaN, Infinity)
    │   │   ├── ForbiddenCharacter      422 forbidden_character  (control, zero-width, bidi-control, NUL)
    │   │   ├── LoneSurrogate           422 lone_surrogate
    │   │   ├── NotNormalized           422 not_nfc
    │   │   ├── InvalidUtf8             422 invalid_utf8         (names the line)
    │   │   └── UnprocessableEvent      422 unprocessable_event  (an event the platform failed on; the rest go on)
    │   └── InvalidAnchor               422 invalid_anchor       (anchor file or key unreadable, signature wrong)
    │   └── InvalidHealthInput          422 invalid_health_input (health, grading, value, forecast, alarms)
    ├── NotFound                        404 not_found
    │   ├── UnknownBattery              404 unknown_battery
    │   ├── UnknownVehicle              404 unknown_vehicle
    │   └── UnknownOrg                  404 unknown_org
    ├── Conflict                        409 conflict
    │   ├── DuplicateCode               409 duplicate_code      (R06b)
    │   ├── AlreadyAssembled            409 already_assembled   (R06b)
    │   ├── InvalidTransition           409 invalid_transition  (R07)
    │   ├── EventIdConflict             409 event_id_conflict
    │   └── UnknownManufacturer         409 unknown_manufacturer (R08)
    ├── Forbidden                       403 forbidden
    │   ├── NotCustodian                403 not_custodian       (R12)
    │   └── ForbiddenEvent              403 forbidden_event     (R12)
    ├── Unauthorized                    401 unauthorized
    ├── PayloadTooLarge                 413 payload_too_large
    ├── LogTampered                     500 log_tampered
    └── StorageError                    503 storage_unavailable
        └── WriteConflict               503 write_conflict      (a concurrent writer won; retried)
"""

from __future__ import annotations

from typing import Any


class BattraceError(Exception):
    """Base of every error the platform raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def to_dict(self) -> dict[str, Any]:
        """The canonical error body shared by every face."""
        return {
            "ok": False,
            "error": self.message,
            "code": self.code,
            "status": self.status,
            "context": self.context,
        }


class ValidationError(BattraceError):
    status, code = 422, "invalid_input"


class InvalidCode(ValidationError):
    code = "invalid_code"


class InvalidVin(ValidationError):
    code = "invalid_vin"


class InvalidCreditCode(ValidationError):
    code = "invalid_credit_code"


class InvalidEvent(ValidationError):
    code = "invalid_event"


class InvalidHealthInput(ValidationError):
    """Bad input to the health, grading, valuation, forecast or alarm functions."""

    code = "invalid_health_input"


class NotFound(BattraceError):
    status, code = 404, "not_found"


class UnknownBattery(NotFound):
    code = "unknown_battery"


class UnknownVehicle(NotFound):
    code = "unknown_vehicle"


class UnknownOrg(NotFound):
    code = "unknown_org"


class Conflict(BattraceError):
    status, code = 409, "conflict"


class DuplicateCode(Conflict):
    code = "duplicate_code"


class AlreadyAssembled(Conflict):
    code = "already_assembled"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class EventIdConflict(Conflict):
    code = "event_id_conflict"


class UnknownManufacturer(Conflict):
    code = "unknown_manufacturer"


class Forbidden(BattraceError):
    status, code = 403, "forbidden"


class NotCustodian(Forbidden):
    code = "not_custodian"


class ForbiddenEvent(Forbidden):
    code = "forbidden_event"


class Unauthorized(BattraceError):
    status, code = 401, "unauthorized"


class PayloadTooLarge(BattraceError):
    status, code = 413, "payload_too_large"


class LogTampered(BattraceError):
    status, code = 500, "log_tampered"


class StorageError(BattraceError):
    status, code = 503, "storage_unavailable"


# -- hostile input (battrace.domain.limits): one code per cause, each an InvalidEvent ---------------


class ImplausibleTime(InvalidEvent):
    code = "implausible_time"


class NestingTooDeep(InvalidEvent):
    code = "nesting_too_deep"


class EventTooLarge(InvalidEvent):
    code = "event_too_large"


class NumberOutOfRange(InvalidEvent):
    code = "number_out_of_range"


class NonFiniteNumber(InvalidEvent):
    code = "non_finite_number"


class ForbiddenCharacter(InvalidEvent):
    code = "forbidden_character"


class LoneSurrogate(InvalidEvent):
    code = "lone_surrogate"


class NotNormalized(InvalidEvent):
    code = "not_nfc"


class InvalidUtf8(InvalidEvent):
    code = "invalid_utf8"


class UnprocessableEvent(InvalidEvent):
    """An event the platform failed on unexpectedly: reported on its line, never a traceback."""

    code = "unprocessable_event"


class InvalidAnchor(ValidationError):
    """An anchor file or key that cannot be read, or whose signature does not check."""

    code = "invalid_anchor"


class WriteConflict(StorageError):
    """A concurrent writer appended to the same stream (or the same event id) first: the batch is
    decided again on a fresh view (the ledger retries; this escapes only if every retry lost)."""

    status, code = 503, "write_conflict"


class RateLimited(BattraceError):
    """Too many requests from one client (public reports)."""

    status, code = 429, "rate_limited"


class EmptyDatabase(NotFound):
    """A read command pointed at a database that does not exist or holds no events (CLI)."""

    code = "empty_database"
