"""Every code list the ledger uses, in one place.

Codes follow the ones prison systems already use (NOMIS movement reasons, release date
types, incentive levels), so data maps across without a lookup table. Each list is a
``StrEnum``: events store the plain code string, and commands check it against the list
before anything is stored.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class CaseStatus(StrEnum):
    NEW = "new"
    IN_CUSTODY = "in_custody"
    ON_ROTL = "on_rotl"
    RELEASED = "released"


class AdmissionReason(StrEnum):
    """NOMIS admission movement reasons."""

    NEW_REMAND = "N"
    NEW_SENTENCE = "I"
    CONVICTED_UNSENTENCED = "V"
    LICENCE_REVOKED = "L"
    RECALL_FROM_HDC = "B"
    TRANSFER_IN = "INT"
    # The design's list has no NOMIS code for these; the ledger's own code, kept
    # apart from NOMIS's by being longer than any code NOMIS uses here.
    IMMIGRATION_DETAINEE = "IMMDET"


class ReleaseReason(StrEnum):
    """NOMIS release movement reasons."""

    CONDITIONAL_RELEASE = "CR"
    HOME_DETENTION_CURFEW = "HR"
    PAROLE = "PX"
    NON_PAROLE = "NP"
    SENTENCE_COMPLETED = "SC"
    BAILED = "BL"
    DEPORTED = "DD"
    DIED = "DEC"
    ESCAPED = "ESCP"
    UNLAWFULLY_AT_LARGE = "UAL"
    # No NOMIS code in the design's list: the ledger's own.
    COURT_DISCHARGE = "CRTDIS"


class ReleaseType(StrEnum):
    CONDITIONAL = "conditional"
    HDC = "hdc"
    PAROLE = "parole"
    END_OF_SENTENCE = "end_of_sentence"
    BAIL = "bail"
    COURT_DISCHARGE = "court_discharge"
    DEPORTATION = "deportation"
    DIED = "died"
    ESCAPED = "escaped"


RELEASE_TYPE_OF_REASON: dict[ReleaseReason, ReleaseType] = {
    ReleaseReason.CONDITIONAL_RELEASE: ReleaseType.CONDITIONAL,
    ReleaseReason.HOME_DETENTION_CURFEW: ReleaseType.HDC,
    ReleaseReason.PAROLE: ReleaseType.PAROLE,
    ReleaseReason.NON_PAROLE: ReleaseType.CONDITIONAL,
    ReleaseReason.SENTENCE_COMPLETED: ReleaseType.END_OF_SENTENCE,
    ReleaseReason.BAILED: ReleaseType.BAIL,
    ReleaseReason.DEPORTED: ReleaseType.DEPORTATION,
    ReleaseReason.DIED: ReleaseType.DIED,
    ReleaseReason.ESCAPED: ReleaseType.ESCAPED,
    ReleaseReason.UNLAWFULLY_AT_LARGE: ReleaseType.ESCAPED,
    ReleaseReason.COURT_DISCHARGE: ReleaseType.COURT_DISCHARGE,
}
"""The release type a movement reason implies (the event stores both)."""


class TransferReason(StrEnum):
    """NOMIS transfer movement reasons."""

    NORMAL_TRANSFER = "NOTR"
    SECURITY = "SEC"
    COMPASSIONATE = "COMP"
    OVERCROWDING = "OVCROW"
    MEDICAL = "MED"


class TemporaryReleaseType(StrEnum):
    """Release on temporary licence (ROTL) types, as NOMIS temporary absence reasons."""

    RESETTLEMENT_OVERNIGHT = "RO"
    YOUNG_PERSON_DAY_RELEASE = "YRDR"
    RESETTLEMENT_DAY_RELEASE = "R2"
    CHILDCARE_RESETTLEMENT = "R3"
    SPECIAL_PURPOSE = "C3"
    PAID_WORK = "C5"


class LegalStatus(StrEnum):
    REMAND = "remand"
    CONVICTED_UNSENTENCED = "convicted_unsentenced"
    SENTENCED = "sentenced"
    RECALL = "recall"
    IMMIGRATION_DETAINEE = "immigration_detainee"


class ReleaseDateType(StrEnum):
    CONDITIONAL_RELEASE = "CRD"
    AUTOMATIC_RELEASE = "ARD"
    PAROLE_ELIGIBILITY = "PED"
    HDC_ELIGIBILITY = "HDCED"
    HDC_APPROVED = "HDCAD"
    APPROVED_PAROLE = "APD"
    NON_PAROLE = "NPD"
    POST_RECALL_RELEASE = "PRRD"
    SENTENCE_AND_LICENCE_EXPIRY = "SLED"
    SENTENCE_EXPIRY = "SED"


class RiskOfSeriousHarm(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class Tier(StrEnum):
    """Resources follow risk: A is the highest risk of harm, D the lowest."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


TIER_CHANGE_LEVELS = range(0, 4)
"""Tier change level 0-3: the likelihood of reoffending within the tier."""


class LikelihoodOfReoffending(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class IncentiveLevel(StrEnum):
    BASIC = "BAS"
    STANDARD = "STD"
    ENHANCED = "ENH"


class IncentiveReviewType(StrEnum):
    INITIAL = "initial"
    REVIEW = "review"
    TRANSFER = "transfer"
    READMISSION = "readmission"


class ScreeningStage(StrEnum):
    """Health screening stages, in the order they must happen."""

    INITIAL = "initial"
    COMPREHENSIVE = "comprehensive"


class OfficerRole(StrEnum):
    DEDICATED_OFFICER = "dedicated_officer"
    KEY_WORKER = "key_worker"
    PRISON_OFFENDER_MANAGER = "pom"


class IncidentType(StrEnum):
    ASSAULT_ON_STAFF = "assault_on_staff"
    ASSAULT_ON_PRISONER = "assault_on_prisoner"
    FIGHT = "fight"
    SELF_HARM = "self_harm"
    USE_OF_FORCE = "use_of_force"
    DRUG_FIND = "drug_find"
    WEAPON_FIND = "weapon_find"
    PHONE_FIND = "phone_find"
    DISORDER = "disorder"
    DEATH_IN_CUSTODY = "death_in_custody"


class IncidentRole(StrEnum):
    PERPETRATOR = "perpetrator"
    VICTIM = "victim"
    INVOLVED = "involved"


class IncidentSeverity(StrEnum):
    MINOR = "minor"
    SERIOUS = "serious"
    MAJOR = "major"


class AcctReviewOutcome(StrEnum):
    """Assessment, Care in Custody and Teamwork (ACCT) review outcomes."""

    CONTINUE = "continue"
    INCREASE_OBSERVATIONS = "increase_observations"
    REDUCE_OBSERVATIONS = "reduce_observations"
    READY_TO_CLOSE = "ready_to_close"


class DrugTestReason(StrEnum):
    """Mandatory drug test (MDT) reasons."""

    RANDOM = "random"
    REASONABLE_SUSPICION = "reasonable_suspicion"
    RISK_ASSESSMENT = "risk_assessment"
    FREQUENT_TEST_PROGRAMME = "frequent_test_programme"
    ON_RECEPTION = "on_reception"


class DrugTestResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    REFUSED = "refused"
    SPOILT = "spoilt"


class Substance(StrEnum):
    CANNABIS = "cannabis"
    SYNTHETIC_CANNABINOIDS = "synthetic_cannabinoids"
    OPIATES = "opiates"
    BUPRENORPHINE = "buprenorphine"
    COCAINE = "cocaine"
    AMPHETAMINES = "amphetamines"
    BENZODIAZEPINES = "benzodiazepines"
    PREGABALIN = "pregabalin"


class ResettlementPathway(StrEnum):
    ACCOMMODATION = "accommodation"
    ATTITUDES_THINKING_BEHAVIOUR = "attitudes_thinking_behaviour"
    CHILDREN_FAMILIES_COMMUNITY = "children_families_community"
    DRUGS_AND_ALCOHOL = "drugs_and_alcohol"
    EDUCATION_SKILLS_WORK = "education_skills_work"
    FINANCE_AND_ID = "finance_and_id"
    HEALTH = "health"


class PassportElement(StrEnum):
    """The elements of a resettlement passport."""

    ID = "id"
    BANK_ACCOUNT = "bank_account"
    ACCOMMODATION = "accommodation"
    EMPLOYMENT_TRAINING_EDUCATION = "employment_training_education"
    HEALTH = "health"
    DRUGS_AND_ALCOHOL = "drugs_and_alcohol"
    FINANCE = "finance"
    FAMILY = "family"


class ResettlementStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUPPORT_REQUIRED = "support_required"
    SUPPORT_NOT_REQUIRED = "support_not_required"
    SUPPORT_DECLINED = "support_declined"
    DONE = "done"


FINISHED_RESETTLEMENT_STATUSES = frozenset(
    {
        ResettlementStatus.DONE,
        ResettlementStatus.SUPPORT_NOT_REQUIRED,
        ResettlementStatus.SUPPORT_DECLINED,
    }
)


class AccommodationStatus(StrEnum):
    """Accommodation on release."""

    SETTLED = "settled"
    TEMPORARY = "temporary"
    APPROVED_PREMISES = "approved_premises"
    NO_FIXED_ABODE = "no_fixed_abode"
    NOT_KNOWN = "not_known"


class LiteracyLevel(StrEnum):
    ENTRY_1 = "entry_1"
    ENTRY_2 = "entry_2"
    ENTRY_3 = "entry_3"
    LEVEL_1 = "level_1"
    LEVEL_2 = "level_2"


class Intervention(StrEnum):
    """Interventions a sentence plan may require and a prison may offer."""

    THINKING_SKILLS = "thinking_skills"
    RESOLVE = "resolve"
    KAIZEN = "kaizen"
    HORIZON = "horizon"
    BUILDING_BETTER_RELATIONSHIPS = "building_better_relationships"
    SUBSTANCE_MISUSE_TREATMENT = "substance_misuse_treatment"
    EDUCATION = "education"
    EMPLOYMENT_SKILLS = "employment_skills"
    HEALTHY_SEX_PROGRAMME = "healthy_sex_programme"


# England and Wales bank holidays, 2020-2030.
# Source: GOV.UK, https://www.gov.uk/bank-holidays (bank-holidays.json, division
# "england-and-wales") for the years it publishes; later years follow the Banking and
# Financial Dealings Act 1971 schedule (New Year's Day, Good Friday, Easter Monday,
# first and last Monday in May, last Monday in August, Christmas Day and Boxing Day,
# with substitute days when they fall at a weekend). One-off holidays by royal
# proclamation are included where announced: VE Day 2020 (early May holiday moved),
# the Platinum Jubilee 2022 (spring holiday moved), the State Funeral of Queen
# Elizabeth II 2022 and the Coronation of King Charles III 2023.
BANK_HOLIDAYS_ENGLAND_AND_WALES: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (  # noqa: SIM905 (one line per year reads better than a list)
        # 2020
        "2020-01-01 2020-04-10 2020-04-13 2020-05-08 2020-05-25 2020-08-31 "
        "2020-12-25 2020-12-28 "
        # 2021
        "2021-01-01 2021-04-02 2021-04-05 2021-05-03 2021-05-31 2021-08-30 "
        "2021-12-27 2021-12-28 "
        # 2022
        "2022-01-03 2022-04-15 2022-04-18 2022-05-02 2022-06-02 2022-06-03 "
        "2022-08-29 2022-09-19 2022-12-26 2022-12-27 "
        # 2023
        "2023-01-02 2023-04-07 2023-04-10 2023-05-01 2023-05-08 2023-05-29 "
        "2023-08-28 2023-12-25 2023-12-26 "
        # 2024
        "2024-01-01 2024-03-29 2024-04-01 2024-05-06 2024-05-27 2024-08-26 "
        "2024-12-25 2024-12-26 "
        # 2025
        "2025-01-01 2025-04-18 2025-04-21 2025-05-05 2025-05-26 2025-08-25 "
        "2025-12-25 2025-12-26 "
        # 2026
        "2026-01-01 2026-04-03 2026-04-06 2026-05-04 2026-05-25 2026-08-31 "
        "2026-12-25 2026-12-28 "
        # 2027
        "2027-01-01 2027-03-26 2027-03-29 2027-05-03 2027-05-31 2027-08-30 "
        "2027-12-27 2027-12-28 "
        # 2028
        "2028-01-03 2028-04-14 2028-04-17 2028-05-01 2028-05-29 2028-08-28 "
        "2028-12-25 2028-12-26 "
        # 2029
        "2029-01-01 2029-03-30 2029-04-02 2029-05-07 2029-05-28 2029-08-27 "
        "2029-12-25 2029-12-26 "
        # 2030
        "2030-01-01 2030-04-19 2030-04-22 2030-05-06 2030-05-27 2030-08-26 "
        "2030-12-25 2030-12-26"
    ).split()
)
BANK_HOLIDAY_YEARS = range(2020, 2031)
