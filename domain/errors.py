"""Domain errors: each names the rule it enforces, so a caller can tell them apart and
a person can read why nothing was stored."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A command refused before anything was stored."""

    rule: ClassVar[str] = "domain"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [rule: {self.rule}]"


class TooMuchContention(DomainError):
    """A save kept losing to other writers of the same aggregate."""

    rule = "retry-limit"


class InvalidValue(DomainError):
    """A value outside its pattern or code list."""

    rule = "valid-values"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OutsideRemit(DomainError):
    """The recorder may record only in the prisons of its caseload, and only on
    cases held there now."""

    rule = "recorder-caseload"


class CaseNotFound(DomainError):
    rule = "case-exists"


class OfficerNotFound(DomainError):
    rule = "officer-exists"


class OfficerAlreadyRegistered(DomainError):
    rule = "officer-registered-once"


class StaleVersion(DomainError):
    """The caller's expected version is not the case's current version."""

    rule = "expected-version"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class CaseIsReleased(DomainError):
    rule = "no-events-after-release"


class AlreadyInCustody(DomainError):
    rule = "one-open-booking"


class NotInCustody(DomainError):
    rule = "in-custody"


class NoOpenBooking(DomainError):
    rule = "release-needs-open-booking"


class TransferToSamePrison(DomainError):
    rule = "no-transfer-to-current-prison"


class ScreeningOutOfOrder(DomainError):
    rule = "screening-stages-in-order"


class OnTemporaryRelease(DomainError):
    rule = "not-while-on-rotl"


class NotOnTemporaryRelease(DomainError):
    rule = "rotl-must-be-open"


class AcctAlreadyOpen(DomainError):
    rule = "one-open-acct"


class NoOpenAcct(DomainError):
    rule = "acct-must-be-open"


class CaseloadLimitReached(DomainError):
    rule = "caseload-limit"


class OverrideNeedsAuthority(DomainError):
    rule = "override-needs-reason-and-authority"


class AlreadyAllocated(DomainError):
    rule = "allocate-once"


class NotAllocated(DomainError):
    rule = "deallocate-only-allocated"


class NoFlaggedReleaseDate(DomainError):
    rule = "early-release-day-needs-flag"


class EarlyReleaseDayNotAllowed(DomainError):
    rule = "early-release-day-within-policy"


class AuthorityRequired(DomainError):
    rule = "authority-required"


class CorrectionTargetMissing(DomainError):
    rule = "correction-names-existing-event"


class AlreadyCorrected(DomainError):
    rule = "correct-once"


class CorrectionNotCorrectable(DomainError):
    rule = "no-correction-of-corrections"


class IdentityFieldNotCorrectable(DomainError):
    rule = "no-correction-of-identity"


class CaseRetired(DomainError):
    rule = "no-events-on-merged-record"


class MergeNotAllowed(DomainError):
    rule = "merge-distinct-live-records"


class NotMerged(DomainError):
    rule = "unmerge-only-merged"


class UnknownPrison(InvalidValue):
    """A well-formed prison code that names no prison in the register."""

    rule = "known-prison"

    def __init__(self, code: str, field: str = "prison") -> None:
        super().__init__(
            field,
            f"{code} is not a prison in the register; an operator adds one by "
            "listing it in the JSON file the LEDGER_PRISONS setting names",
        )
        self.code = code


class ReferenceReused(InvalidValue):
    """A client's reference (``source_ref`` or ``Idempotency-Key``) already names
    another request on this case."""

    rule = "one-request-per-reference"

    def __init__(self, message: str) -> None:
        super().__init__("source_ref", message)
