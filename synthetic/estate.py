"""A synthetic estate: realistic, entirely invented journeys through custody.

Every person, officer and narrative here is made up. Journeys go through the domain's
own aggregates, so every rule holds, and are saved in batches through the ledger
application (one atomic save per batch). The same seed gives the same events: ids are
derived from prisoner numbers, and every random choice comes from one seeded generator.

Rates are set to look like a real estate at a glance: screenings mostly on time,
about 10% of drug tests positive and a few refused, self-harm clustered in a minority,
transfers, ROTL near release, resettlement work in the last weeks, Friday releases,
a few corrections and merges.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain import codes, errors
from domain.case import Case
from domain.commands import (
    AgreeSentencePlan,
    AllocateOfficer,
    ApproveEarlyReleaseDay,
    CloseAcct,
    CorrectEvent,
    DeallocateOfficer,
    EndTemporaryRelease,
    IncidentPerson,
    OpenAcct,
    ReceivePrisoner,
    RecordDrugTest,
    RecordHealthScreening,
    RecordIncident,
    RecordNeedsAssessment,
    RecordRelease,
    RecordResettlementStep,
    RecordRiskAssessment,
    RecordTransfer,
    RegisterOfficer,
    ReviewAcct,
    ReviewIncentiveLevel,
    SetReleaseDate,
    StartTemporaryRelease,
)
from domain.context import RequestContext
from domain.ledger import JourneyLedger
from domain.officer import CaseloadLimits, Officer

PRISON_CODES = (
    "LEI",
    "MDI",
    "BMI",
    "WWI",
    "HLI",
    "DMI",
    "PVI",
    "WLI",
    "BWI",
    "NMI",
    "EXI",
    "LPI",
    "DNI",
    "HMI",
    "BLI",
    "CFI",
    "SWI",
    "WDI",
    "FMI",
    "ONI",
)
FIRST_NAMES = (
    "Ash",
    "Bailey",
    "Casey",
    "Drew",
    "Eden",
    "Finley",
    "Gray",
    "Harley",
    "Indy",
    "Jules",
    "Kit",
    "Lee",
    "Morgan",
    "Nico",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sage",
    "Tate",
    "Umber",
    "Vale",
    "Wren",
    "Yael",
    "Zion",
)
LAST_NAMES = (
    "Ashdown",
    "Brackenbury",
    "Coldharbour",
    "Dunmore",
    "Elmsworth",
    "Fernhill",
    "Glenfield",
    "Hollowmere",
    "Ivybridge",
    "Juniper",
    "Kestrel",
    "Larkspur",
    "Moorcroft",
    "Nettlebed",
    "Oakhurst",
    "Pebblestone",
    "Quarrydale",
    "Rookwood",
    "Silverdale",
    "Thornbury",
    "Underhill",
    "Vinecombe",
    "Westerleigh",
    "Yarrowby",
)
LOCATIONS = (
    "A wing",
    "B wing",
    "C wing",
    "Healthcare",
    "Gym",
    "Workshops",
    "Exercise yard",
)
SOURCE = "synthetic-estate"
DEFAULT_UNTIL = date(2026, 11, 1)


@dataclass
class SeedReport:
    people: int = 0
    events: int = 0
    seconds: float = 0.0
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        lines = [
            f"Seeded {self.people:,} people: {self.events:,} events in "
            f"{self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)",
        ]
        for name, n in sorted(self.by_type.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {name:<26} {n:>9,}")
        return "\n".join(lines)


class EstateGenerator:
    """Makes one person's journey at a time, deterministically from its seed."""

    def __init__(
        self,
        *,
        prisons: int,
        people: int,
        years: int,
        seed: int,
        until: date = DEFAULT_UNTIL,
        caseload_limit: int = 6,
    ) -> None:
        if not 1 <= prisons <= len(PRISON_CODES):
            raise errors.InvalidValue(
                "prisons", f"prisons must be 1-{len(PRISON_CODES)}"
            )
        self.rng = random.Random(seed)
        self.seed = seed
        self.prisons = list(PRISON_CODES[:prisons])
        self.people = people
        self.until = until
        self.start = until - timedelta(days=365 * years)
        self.caseload_limit = caseload_limit
        self._counter = 0
        self._numbers: set[str] = set()
        self.officers: dict[str, list[Officer]] = {}
        self.touched_officers: dict[str, Officer] = {}

    # --- identities and contexts ---------------------------------------------

    def _next_id(self) -> str:
        self._counter += 1
        return str(uuid5(NAMESPACE_URL, f"seed:{self.seed}:{self._counter}"))

    def prisoner_number(self) -> str:
        while True:
            letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
            number = (
                self.rng.choice(letters)
                + f"{self.rng.randrange(10_000):04d}"
                + self.rng.choice(letters)
                + self.rng.choice(letters)
            )
            if number not in self._numbers:
                self._numbers.add(number)
                return number

    def ctx(
        self, prison: str, at: datetime, *, authority: str | None = None
    ) -> RequestContext:
        return RequestContext(
            recorded_by=f"STAFF{self.rng.randrange(1, 400):03d}_{prison}",
            prison=prison,
            source=SOURCE,
            source_ref=f"seed-{self.seed}-{self._counter + 1}",
            correlation_id=self._next_id(),
            authority=authority,
            occurred_at=at,
        )

    def officer_events(self) -> list[Officer]:
        """Register the estate's officers (key workers and POMs per prison)."""
        registered = []
        per_prison_people = max(1, self.people // len(self.prisons))
        # Enough key workers for the population in custody at the end, a little
        # short so a few allocations need an override.
        key_workers = max(2, per_prison_people // 16)
        poms = max(1, per_prison_people // 60)
        at = datetime.combine(self.start, datetime.min.time(), UTC)
        for prison in self.prisons:
            staff = []
            for i in range(key_workers + poms):
                role = codes.OfficerRole.KEY_WORKER if i < key_workers else "pom"
                officer = Officer.register(
                    self.ctx(prison, at),
                    RegisterOfficer(
                        officer_id=f"{'KW' if i < key_workers else 'POM'}"
                        f"{i:03d}_{prison}",
                        name=f"{self.rng.choice(FIRST_NAMES)} "
                        f"{self.rng.choice(LAST_NAMES)}",
                        roles=(role,),
                        home_prison=prison,
                    ),
                )
                staff.append(officer)
                registered.append(officer)
            self.officers[prison] = staff
        return registered

    # --- one journey ---------------------------------------------------------

    def journey(self) -> list[Case]:
        """One person's cases (two when a duplicate record is made and merged)."""
        rng = self.rng
        number = self.prisoner_number()
        prison = rng.choice(self.prisons)
        span = (self.until - self.start).days
        at = datetime.combine(
            self.start + timedelta(days=rng.randrange(max(1, span - 7))),
            datetime.min.time(),
            UTC,
        ) + timedelta(hours=rng.randrange(9, 20), minutes=rng.randrange(60))
        end = datetime.combine(self.until, datetime.min.time(), UTC)
        sentenced = rng.random() < 0.7
        sentence_days = (
            rng.choice((90, 180, 365, 540, 730, 1095, 1460)) if sentenced else None
        )
        stay = timedelta(days=(sentence_days or rng.randrange(20, 200)) // 2)
        release_at = at + stay
        vulnerable = rng.random() < 0.06
        case = Case.open(self.ctx(prison, at), number)
        case.execute(
            self.ctx(prison, at),
            ReceivePrisoner(
                booking_no=f"{rng.randrange(10_000, 99_999)}{rng.choice('ABCDEFGH')}",
                movement_reason="I" if sentenced else rng.choice(("N", "N", "V", "L")),
                legal_status="sentenced" if sentenced else "remand",
                sentence_days=sentence_days,
                personal_details={
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": rng.choice(LAST_NAMES),
                    "date_of_birth": (
                        date(1960, 1, 1) + timedelta(days=rng.randrange(15_000))
                    ).isoformat(),
                },
            ),
        )
        # Screening: initial due within 24 h (some late), comprehensive within 7 days.
        initial = at + timedelta(hours=rng.choice((2, 4, 6, 10, 20, 30, 50)))
        if initial < end:
            case.execute(
                self.ctx(prison, initial),
                RecordHealthScreening(
                    stage="initial", outcome="screened", referrals=[]
                ),
            )
            comprehensive = initial + timedelta(days=rng.choice((1, 2, 3, 5, 6, 9, 14)))
            if comprehensive < end:
                case.execute(
                    self.ctx(prison, comprehensive),
                    RecordHealthScreening(
                        stage="comprehensive",
                        outcome="screened",
                        referrals=["mental health"] if vulnerable else [],
                    ),
                )
        moment = at + timedelta(days=3)
        if moment < end:
            case.execute(
                self.ctx(prison, moment),
                RecordNeedsAssessment(
                    substance_misuse=rng.random() < 0.4,
                    learning_difficulty_or_disability=rng.random() < 0.25,
                    literacy_level=rng.choice([c.value for c in codes.LiteracyLevel]),
                    numeracy_level=rng.choice([c.value for c in codes.LiteracyLevel]),
                    has_id=rng.random() < 0.5,
                    has_bank_account=rng.random() < 0.55,
                    housing_on_release=rng.choice(
                        (
                            "settled",
                            "settled",
                            "temporary",
                            "no_fixed_abode",
                            "not_known",
                        )
                    ),
                    caring_responsibilities=rng.random() < 0.2,
                ),
            )
        if sentenced and rng.random() < 0.9 and at + timedelta(days=10) < end:
            moment = at + timedelta(days=rng.randrange(5, 40))
            if moment < end:
                case.execute(
                    self.ctx(prison, moment),
                    RecordRiskAssessment(
                        tier=rng.choice("ABCCDD"),
                        tier_change_level=rng.randrange(4),
                        rosh=rng.choice(
                            ("low", "medium", "medium", "high", "very_high")
                        ),
                        likelihood_of_reoffending=rng.choice(("low", "medium", "high")),
                        assessor=f"Assessor {rng.randrange(1, 60)}",
                    ),
                )
                interventions = [c.value for c in codes.Intervention]
                case.execute(
                    self.ctx(prison, moment + timedelta(days=7)),
                    AgreeSentencePlan(
                        objectives=["reduce risk of reoffending"],
                        interventions_required=rng.sample(interventions, 2),
                        interventions_available=rng.sample(interventions, 3),
                    ),
                )
        self._allocate(case, prison, at + timedelta(days=2), end)
        case.execute(
            self.ctx(prison, at + timedelta(hours=1)),
            ReviewIncentiveLevel(
                level="STD", review_type="initial", reason="on reception"
            ),
        )
        # Life inside: incidents, ACCTs, drug tests, a transfer, all in time order.
        day = at + timedelta(days=7)
        limit = min(release_at, end)
        transferred = False
        while day < limit:
            roll = rng.random()
            here = case.prison or prison
            if vulnerable and roll < 0.08:
                self._self_harm(case, self.ctx(here, day), day)
            elif roll < 0.012:
                self._incident(case, self.ctx(here, day))
            elif roll < 0.05:
                self._drug_test(case, self.ctx(here, day))
            elif roll < 0.055 and not transferred and not case.acct_open:
                transferred = True
                self._transfer(case, self.ctx(here, day), day, end)
            day += timedelta(days=rng.randrange(3, 14))
        if case.acct_open and limit < end:
            case.execute(
                self.ctx(case.prison or prison, limit), CloseAcct(reason="risk reduced")
            )
        if limit == release_at:
            self._prepare_release(case, release_at, sentenced, vulnerable)
        cases = [case]
        if rng.random() < 0.003:
            cases.append(self._duplicate_and_merge(case, at, end))
        if rng.random() < 0.02 and case.facts:
            self._correct(case, end)
        return cases

    def _allocate(self, case: Case, prison: str, at: datetime, end: datetime) -> None:
        if at >= end:
            return
        staff = [o for o in self.officers[prison] if "key_worker" in o.roles]
        free = [o for o in staff if o.count("key_worker") < self.caseload_limit]
        officer = self.rng.choice(free) if free else self.rng.choice(staff)
        over = not free
        ctx = self.ctx(prison, at, authority=f"CUSTMGR_{prison}" if over else None)
        recorded = officer.allocate(
            ctx,
            prisoner_number=case.prisoner_number,
            role="key_worker",
            limits=_limits(self.caseload_limit),
            override_reason="wing short of key workers" if over else None,
        )
        case.allocate_officer(
            ctx,
            AllocateOfficer(
                officer_id=officer.officer_id,
                role="key_worker",
                reason="new arrival",
                override_reason="wing short of key workers" if over else None,
            ),
            recorded,
        )
        self.touched_officers[officer.officer_id] = officer

    def _deallocate_all(self, case: Case, ctx: RequestContext, reason: str) -> None:
        for role, officer_id in list(case.officers.items()):
            officer = next(
                o
                for staff in self.officers.values()
                for o in staff
                if o.officer_id == officer_id
            )
            case.execute(
                ctx, DeallocateOfficer(officer_id=officer_id, role=role, reason=reason)
            )
            officer.deallocate(ctx, prisoner_number=case.prisoner_number, role=role)
            self.touched_officers[officer_id] = officer

    def _self_harm(self, case: Case, ctx: RequestContext, day: datetime) -> None:
        self._incident(case, ctx, incident_type="self_harm", role="involved")
        if not case.acct_open:
            case.execute(ctx, OpenAcct(triggers=["self-harm"]))
        elif self.rng.random() < 0.5:
            case.execute(
                ctx, ReviewAcct(outcome=self.rng.choice(("continue", "ready_to_close")))
            )
        else:
            case.execute(ctx, CloseAcct(reason="risk reduced"))

    def _incident(
        self,
        case: Case,
        ctx: RequestContext,
        *,
        incident_type: str | None = None,
        role: str | None = None,
    ) -> None:
        rng = self.rng
        kind = incident_type or rng.choice(
            (
                "assault_on_prisoner",
                "fight",
                "drug_find",
                "phone_find",
                "weapon_find",
                "assault_on_staff",
                "disorder",
                "use_of_force",
            )
        )
        reference = f"IR-{ctx.occurred_at:%Y}-{rng.randrange(1_000_000):06d}"
        part = role or rng.choice(("perpetrator", "victim", "involved"))
        incident = RecordIncident(
            incident_ref=reference,
            incident_type=kind,
            location=rng.choice(LOCATIONS),
            severity=rng.choice(("minor", "minor", "serious", "major")),
            narrative=f"Synthetic account of a {kind.replace('_', ' ')}.",
            people=(IncidentPerson(prisoner_number=case.prisoner_number, role=part),),
        )
        case.record_incident(ctx, incident, incident.people[0].role)

    def _drug_test(self, case: Case, ctx: RequestContext) -> None:
        rng = self.rng
        roll = rng.random()
        result = "positive" if roll < 0.10 else "refused" if roll < 0.13 else "negative"
        if roll > 0.995:
            result = "spoilt"
        case.execute(
            ctx,
            RecordDrugTest(
                test_ref=f"MDT-{ctx.prison}-{rng.randrange(1_000_000):06d}",
                reason=rng.choice(
                    (
                        "random",
                        "random",
                        "random",
                        "reasonable_suspicion",
                        "risk_assessment",
                        "frequent_test_programme",
                    )
                ),
                result=result,
                substances=rng.sample(
                    (
                        "synthetic_cannabinoids",
                        "cannabis",
                        "buprenorphine",
                        "opiates",
                        "cocaine",
                        "pregabalin",
                    ),
                    1,
                )
                if result == "positive"
                else [],
            ),
        )

    def _transfer(
        self, case: Case, ctx: RequestContext, day: datetime, end: datetime
    ) -> None:
        options = [p for p in self.prisons if p != case.prison]
        if not options:
            return
        to = self.rng.choice(options)
        self._deallocate_all(case, ctx, reason="transferred")
        reason = self.rng.choice(("NOTR", "NOTR", "OVCROW", "SEC", "COMP"))
        case.execute(ctx, RecordTransfer(to, reason))
        self._allocate(case, to, day + timedelta(days=1), end)

    def _prepare_release(
        self, case: Case, release_at: datetime, sentenced: bool, vulnerable: bool
    ) -> None:
        rng = self.rng
        prison = case.prison or self.prisons[0]
        release_day = release_at.date()
        weeks_before = release_at - timedelta(weeks=12)
        case.execute(
            self.ctx(prison, weeks_before),
            SetReleaseDate(date_type="CRD", release_date=release_day),
        )
        flagged = case.release_dates["CRD"]
        if flagged["flagged"] and rng.random() < 0.5:
            case.execute(
                self.ctx(
                    prison, weeks_before + timedelta(days=7), authority=f"GOV_{prison}"
                ),
                ApproveEarlyReleaseDay(
                    date_type="CRD", approved_date=flagged["earliest_allowed"]
                ),
            )
        for step, element in enumerate(
            rng.sample([c.value for c in codes.PassportElement], 4)
        ):
            moment = weeks_before + timedelta(days=10 + 7 * step)
            case.execute(
                self.ctx(prison, moment),
                RecordResettlementStep(
                    element=element,
                    status=rng.choice(
                        (
                            "done",
                            "done",
                            "in_progress",
                            "support_required",
                            "support_declined",
                        )
                    ),
                    detail="Synthetic resettlement note.",
                ),
            )
        if sentenced and rng.random() < 0.15:
            out = release_at - timedelta(days=20)
            case.execute(
                self.ctx(prison, out),
                StartTemporaryRelease(
                    rotl_type=rng.choice(("R2", "RO", "C5")),
                    expected_return=out + timedelta(hours=10),
                ),
            )
            case.execute(
                self.ctx(prison, out + timedelta(hours=9)),
                EndTemporaryRelease(failed_to_return=rng.random() < 0.02),
            )
        ctx = self.ctx(prison, release_at)
        self._deallocate_all(case, ctx, reason="released")
        approved = flagged.get("approved_date")
        when = (
            datetime.combine(approved, datetime.min.time(), UTC) + timedelta(hours=9)
            if approved
            else release_at
        )
        case.execute(
            self.ctx(prison, when),
            RecordRelease(
                movement_reason=rng.choice(("CR", "CR", "CR", "HR", "SC", "PX"))
                if sentenced
                else rng.choice(("BL", "CRTDIS")),
                accommodation=rng.choice(
                    (
                        "settled",
                        "settled",
                        "temporary",
                        "approved_premises",
                        "no_fixed_abode",
                    )
                ),
            ),
        )

    def _duplicate_and_merge(self, survivor: Case, at: datetime, end: datetime) -> Case:
        prison = survivor.bookings[0]["prison"]
        moment = min(at + timedelta(hours=3), end)
        duplicate = Case.open(self.ctx(prison, moment), self.prisoner_number())
        duplicate.execute(
            self.ctx(prison, moment),
            ReceivePrisoner(
                booking_no=f"{self.rng.randrange(10_000, 99_999)}Z",
                movement_reason="N",
                legal_status="remand",
                sentence_days=None,
                personal_details=dict(survivor.personal_details),
            ),
        )
        duplicate.merge_into(self.ctx(prison, moment + timedelta(days=2)), survivor)
        return duplicate

    def _correct(self, case: Case, end: datetime) -> None:
        for fact in reversed(case.facts):
            if fact["kind"] == "RiskAssessed":
                case.execute(
                    self.ctx(case.prison or self.prisons[0], end - timedelta(hours=1)),
                    CorrectEvent(
                        version=fact["version"],
                        reason="keyed against the wrong assessment",
                        corrected_fields={"tier": self.rng.choice("ABCD")},
                    ),
                )
                return


def _limits(limit: int) -> CaseloadLimits:
    return CaseloadLimits(
        {"key_worker": limit, "dedicated_officer": limit, "pom": None}
    )


def seed_estate(
    ledger: JourneyLedger,
    *,
    prisons: int = 12,
    people: int = 5_000,
    years: int = 3,
    seed: int = 1,
    batch_people: int = 250,
    progress: Callable[[int, int, int], None] | None = None,
) -> SeedReport:
    """Write a synthetic estate through ``ledger``; the store must be empty."""
    if ledger.recorder.max_notification_id():
        raise errors.DomainError(
            "the store already holds events; seed an empty store (synthetic ids "
            "would collide with the ones already there)"
        )
    generator = EstateGenerator(prisons=prisons, people=people, years=years, seed=seed)
    report = SeedReport()
    started = time.perf_counter()
    _save(ledger, generator.officer_events(), report)
    for batch in _batches(people, batch_people):
        aggregates: list[Aggregate] = []
        for _ in range(batch):
            aggregates.extend(generator.journey())
        aggregates.extend(generator.touched_officers.values())
        generator.touched_officers.clear()
        _save(ledger, aggregates, report)
        report.people += batch
        if progress is not None:
            progress(report.people, people, report.events)
    report.seconds = time.perf_counter() - started
    return report


def _batches(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def _save(
    ledger: JourneyLedger, aggregates: Sequence[Aggregate], report: SeedReport
) -> None:
    pending = [e for a in aggregates for e in a.pending_events]
    report.by_type.update(type(e).__name__ for e in pending)
    report.events += len(pending)
    ledger.save(*aggregates)


def progress_bar(done: int, total: int, events: int) -> None:
    width = 30
    filled = width * done // max(1, total)
    end = "\n" if done >= total else ""
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} people, "
        f"{events:,} events{end}"
    )
    sys.stderr.flush()
