"""The register of the estate's prisons: which prison codes the ledger knows.

A prison code that is well formed (``PrisonCode``) may still name no prison; the
register is what tells the two apart. The built-in register is the estate of England
and Wales under the codes prison systems already use (NOMIS agency ids): open and
closed establishments alike, since history recorded at a prison that has since closed
must stay readable. Codes and names are public facts about institutions.

An operator extends or corrects it without a release: the setting ``LEDGER_PRISONS``
names a JSON file of extra prisons, and an entry whose code is already in the register
replaces that prison (to rename one, or mark it closed)::

    {
      "prisons": [
        {"code": "XYZ", "name": "HMP Example", "type": "HMP", "category": "C"},
        {"code": "MDI", "name": "HMP & YOI Moorland", "type": "HMP",
         "category": "C", "active": true}
      ]
    }

``type`` is one of :class:`PrisonType`, ``category`` one of :class:`PrisonCategory`
(their values), ``active`` is optional (default true); no other keys are accepted, so
a misspelt key is an error rather than silently ignored. The caller reads the
setting: this module never reads the environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from domain.errors import UnknownPrison

SETTING = "LEDGER_PRISONS"
"""The setting that names the file of extra prisons (read by the caller)."""

_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
_FIELDS = frozenset({"code", "name", "type", "category", "active"})


class PrisonType(StrEnum):
    HMP = "HMP"
    """A prison (some also hold young adults: their main role decides)."""
    YOI = "YOI"
    """A young offender institution."""
    IRC = "IRC"
    """An immigration removal centre."""
    STC = "STC"
    """A secure training centre."""


class PrisonCategory(StrEnum):
    """The security category of the population an establishment holds (its main
    one, where it holds several)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    FEMALE_CLOSED = "female closed"
    FEMALE_OPEN = "female open"
    YOI_CLOSED = "YOI closed"
    YOI_OPEN = "YOI open"
    CHILDREN = "children"
    IMMIGRATION = "immigration detention"


class PrisonRegisterError(ValueError):
    """The file of extra prisons cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Prison:
    code: str
    name: str
    type: PrisonType
    category: PrisonCategory
    active: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE.fullmatch(self.code):
            raise ValueError(
                f"prison code {self.code!r} is not three capital letters (e.g. LEI)"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"prison {self.code} needs a name")
        if not isinstance(self.type, PrisonType):
            raise ValueError(f"prison {self.code}: type {self.type!r} is not a type")
        if not isinstance(self.category, PrisonCategory):
            raise ValueError(
                f"prison {self.code}: category {self.category!r} is not a category"
            )
        if not isinstance(self.active, bool):
            raise ValueError(f"prison {self.code}: active must be true or false")


class PrisonRegister:
    """The prisons the ledger knows, by code."""

    def __init__(self, prisons: Iterable[Prison]) -> None:
        by_code: dict[str, Prison] = {}
        for prison in prisons:
            if prison.code in by_code:
                raise ValueError(f"prison {prison.code} is listed twice")
            by_code[prison.code] = prison
        self._by_code = dict(sorted(by_code.items()))

    @classmethod
    def default(cls) -> PrisonRegister:
        """The built-in estate."""
        return cls(
            Prison(code, name, kind, category, active)
            for code, name, kind, category, active in _ESTATE
        )

    @classmethod
    def from_setting(cls, value: str | None) -> PrisonRegister:
        """The built-in estate, extended and overridden by the JSON file ``value``
        names (the ``LEDGER_PRISONS`` setting); unset or blank is the estate alone.

        Raises :class:`PrisonRegisterError` naming the file and what is wrong with
        it, so a bad file stops the program at start rather than at the first read.
        """
        register = cls.default()
        if value is None or not value.strip():
            return register
        path = Path(value.strip())
        try:
            extra = _prisons_in(json.loads(path.read_text(encoding="utf-8")))
        except OSError as e:
            raise PrisonRegisterError(
                f"{SETTING} names {path}, which cannot be read: {e.strerror or e}"
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise PrisonRegisterError(
                f"{SETTING} names {path}, which is not JSON: {e}"
            ) from None
        except ValueError as e:
            raise PrisonRegisterError(f"{SETTING} names {path}: {e}") from None
        return register.with_prisons(extra)

    def with_prisons(self, prisons: Iterable[Prison]) -> PrisonRegister:
        """This register with ``prisons`` added; one with a code already here
        replaces the prison there."""
        merged = dict(self._by_code)
        merged.update((p.code, p) for p in prisons)
        return PrisonRegister(merged.values())

    def find(self, code: str) -> Prison | None:
        return self._by_code.get(code)

    def require(self, code: str, field: str = "prison") -> Prison:
        """The prison ``code`` names; :class:`UnknownPrison` if there is none."""
        found = self._by_code.get(code)
        if found is None:
            raise UnknownPrison(code, field)
        return found

    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def active(self) -> list[Prison]:
        """The prisons open now, in code order."""
        return [p for p in self._by_code.values() if p.active]

    def __iter__(self) -> Iterator[Prison]:
        """Every prison, open or closed, in code order."""
        return iter(list(self._by_code.values()))

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


def _prisons_in(document: Any) -> list[Prison]:
    if not isinstance(document, Mapping) or set(document) != {"prisons"}:
        raise ValueError('expected an object {"prisons": [...]} and nothing else')
    entries = document["prisons"]
    if not isinstance(entries, list):
        raise ValueError('"prisons" must be a list of prisons')
    prisons: list[Prison] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"prison {number}"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} is not an object")
        where = f"prison {number} ({entry.get('code', 'no code')})"
        unknown = sorted(set(entry) - _FIELDS)
        missing = sorted({"code", "name", "type", "category"} - set(entry))
        if unknown:
            raise ValueError(f"{where} has unknown keys: {', '.join(unknown)}")
        if missing:
            raise ValueError(f"{where} lacks: {', '.join(missing)}")
        kind = _code_of(PrisonType, entry, "type", where)
        category = _code_of(PrisonCategory, entry, "category", where)
        prison = Prison(
            entry["code"], entry["name"], kind, category, entry.get("active", True)
        )
        if prison.code in seen:
            raise ValueError(f"{where} is listed twice")
        seen.add(prison.code)
        prisons.append(prison)
    return prisons


Code = TypeVar("Code", bound=StrEnum)


def _code_of(
    codes: type[Code], entry: Mapping[str, Any], field: str, where: str
) -> Code:
    """``entry[field]`` as one of ``codes``; a ValueError naming those allowed."""
    try:
        return codes(entry[field])
    except ValueError:
        allowed = ", ".join(c.value for c in codes)
        raise ValueError(
            f"{where}: {field} {entry[field]!r} is not one of {allowed}"
        ) from None


_HMP = PrisonType.HMP
_YOI = PrisonType.YOI
_IRC = PrisonType.IRC
_STC = PrisonType.STC
_A = PrisonCategory.A
_B = PrisonCategory.B
_C = PrisonCategory.C
_D = PrisonCategory.D
_FC = PrisonCategory.FEMALE_CLOSED
_FO = PrisonCategory.FEMALE_OPEN
_YC = PrisonCategory.YOI_CLOSED
_CH = PrisonCategory.CHILDREN
_IM = PrisonCategory.IMMIGRATION

# The estate of England and Wales under its NOMIS agency ids. Closed establishments
# stay (inactive) because events recorded there stay in the ledger; establishments
# whose ids are not three letters (the secure training centres after Medway) cannot
# be prison codes here and are left to the operator's file.
_ESTATE: tuple[tuple[str, str, PrisonType, PrisonCategory, bool], ...] = (
    ("ACI", "HMP Altcourse", _HMP, _B, True),
    ("AGI", "HMP Askham Grange", _HMP, _FO, True),
    ("ALI", "HMP Albany", _HMP, _B, False),
    ("ASI", "HMP Ashfield", _HMP, _C, True),
    ("AYI", "HMYOI Aylesbury", _YOI, _YC, True),
    ("BAI", "HMP Belmarsh", _HMP, _A, True),
    ("BCI", "HMP Buckley Hall", _HMP, _C, True),
    ("BDI", "HMP Blundeston", _HMP, _C, False),
    ("BFI", "HMP Bedford", _HMP, _B, True),
    ("BHI", "HMP Blantyre House", _HMP, _C, False),
    ("BLI", "HMP Bristol", _HMP, _B, True),
    ("BMI", "HMP Birmingham", _HMP, _B, True),
    ("BNI", "HMP Bullingdon", _HMP, _B, True),
    ("BRI", "HMP Bure", _HMP, _C, True),
    ("BSI", "HMP Brinsford", _HMP, _B, True),
    ("BWI", "HMP Berwyn", _HMP, _C, True),
    ("BXI", "HMP Brixton", _HMP, _C, True),
    ("BZI", "HMP Bronzefield", _HMP, _FC, True),
    ("CDI", "HMP Chelmsford", _HMP, _B, True),
    ("CFI", "HMP Cardiff", _HMP, _B, True),
    ("CHI", "HMP Camp Hill", _HMP, _C, False),
    ("CKI", "HMYOI Cookham Wood", _YOI, _CH, True),
    ("CLI", "HMP Coldingley", _HMP, _C, True),
    ("CWI", "HMP Channings Wood", _HMP, _C, True),
    ("CYI", "HMP Canterbury", _HMP, _B, False),
    ("DAI", "HMP Dartmoor", _HMP, _C, True),
    ("DGI", "HMP Dovegate", _HMP, _B, True),
    ("DHI", "HMP Drake Hall", _HMP, _FC, True),
    ("DMI", "HMP Durham", _HMP, _B, True),
    ("DNI", "HMP Doncaster", _HMP, _B, True),
    ("DRI", "HMP Dorchester", _HMP, _B, False),
    ("DTI", "HMP Deerbolt", _HMP, _C, True),
    ("DVI", "Dover IRC", _IRC, _IM, False),
    ("DWI", "HMP Downview", _HMP, _FC, True),
    ("EEI", "HMP Erlestoke", _HMP, _C, True),
    ("EHI", "HMP Standford Hill", _HMP, _D, True),
    ("ESI", "HMP East Sutton Park", _HMP, _FO, True),
    ("EWI", "HMP Eastwood Park", _HMP, _FC, True),
    ("EXI", "HMP Exeter", _HMP, _B, True),
    ("EYI", "HMP Elmley", _HMP, _B, True),
    ("FBI", "HMP Forest Bank", _HMP, _B, True),
    ("FDI", "HMP Ford", _HMP, _D, True),
    ("FEI", "HMP Fosse Way", _HMP, _C, True),
    ("FHI", "HMP Foston Hall", _HMP, _FC, True),
    ("FKI", "HMP Frankland", _HMP, _A, True),
    ("FMI", "HMYOI Feltham", _YOI, _YC, True),
    ("FNI", "HMP Full Sutton", _HMP, _A, True),
    ("FSI", "HMP Featherstone", _HMP, _C, True),
    ("FWI", "HMP Five Wells", _HMP, _C, True),
    ("GHI", "HMP Garth", _HMP, _B, True),
    ("GLI", "HMP Gloucester", _HMP, _B, False),
    ("GMI", "HMP Guys Marsh", _HMP, _C, True),
    ("GNI", "HMP Grendon", _HMP, _B, True),
    ("GPI", "HMYOI Glen Parva", _YOI, _YC, False),
    ("GTI", "HMP Gartree", _HMP, _B, True),
    ("HBI", "HMP Hollesley Bay", _HMP, _D, True),
    ("HCI", "HMP Huntercombe", _HMP, _C, True),
    ("HDI", "HMP Hatfield", _HMP, _D, True),
    ("HEI", "HMP Hewell", _HMP, _B, True),
    ("HHI", "HMP Holme House", _HMP, _C, True),
    ("HII", "HMP Hindley", _HMP, _C, True),
    ("HLI", "HMP Hull", _HMP, _B, True),
    ("HMI", "HMP Humber", _HMP, _C, True),
    ("HOI", "HMP High Down", _HMP, _C, True),
    ("HPI", "HMP Highpoint", _HMP, _C, True),
    ("HRI", "Haslar IRC", _IRC, _IM, False),
    ("HVI", "HMP Haverigg", _HMP, _C, True),
    ("HYI", "HMP Holloway", _HMP, _FC, False),
    ("ISI", "HMP Isis", _HMP, _C, True),
    ("IWI", "HMP Isle of Wight", _HMP, _B, True),
    ("KMI", "HMP Kirkham", _HMP, _D, True),
    ("KTI", "HMP Kennet", _HMP, _C, False),
    ("KVI", "HMP Kirklevington Grange", _HMP, _D, True),
    ("LCI", "HMP Leicester", _HMP, _B, True),
    ("LEI", "HMP Leeds", _HMP, _B, True),
    ("LFI", "HMP Lancaster Farms", _HMP, _C, True),
    ("LGI", "HMP Lowdham Grange", _HMP, _B, True),
    ("LHI", "HMP Lindholme", _HMP, _C, True),
    ("LII", "HMP Lincoln", _HMP, _B, True),
    ("LLI", "HMP Long Lartin", _HMP, _A, True),
    ("LNI", "HMP Low Newton", _HMP, _FC, True),
    ("LPI", "HMP Liverpool", _HMP, _B, True),
    ("LTI", "HMP Littlehey", _HMP, _C, True),
    ("LWI", "HMP Lewes", _HMP, _B, True),
    ("LYI", "HMP Leyhill", _HMP, _D, True),
    ("MDI", "HMP Moorland", _HMP, _C, True),
    ("MHI", "HMP Morton Hall", _HMP, _C, True),
    ("MRI", "HMP Manchester", _HMP, _A, True),
    ("MSI", "HMP Maidstone", _HMP, _C, True),
    ("MTI", "HMP The Mount", _HMP, _C, True),
    ("MWI", "Medway STC", _STC, _CH, False),
    ("NHI", "HMP New Hall", _HMP, _FC, True),
    ("NLI", "HMP Northumberland", _HMP, _C, True),
    ("NMI", "HMP Nottingham", _HMP, _B, True),
    ("NSI", "HMP North Sea Camp", _HMP, _D, True),
    ("NWI", "HMP Norwich", _HMP, _B, True),
    ("ONI", "HMP Onley", _HMP, _C, True),
    ("OWI", "HMP Oakwood", _HMP, _C, True),
    ("PBI", "HMP Peterborough", _HMP, _B, True),
    ("PDI", "HMP Portland", _HMP, _C, True),
    ("PFI", "HMP Peterborough (women)", _HMP, _FC, True),
    ("PKI", "HMP Parkhurst", _HMP, _B, False),
    ("PNI", "HMP Preston", _HMP, _B, True),
    ("PRI", "HMP Parc", _HMP, _B, True),
    ("PVI", "HMP Pentonville", _HMP, _B, True),
    ("RCI", "HMP Rochester", _HMP, _C, True),
    ("RDI", "HMP Reading", _HMP, _B, False),
    ("RHI", "HMP Rye Hill", _HMP, _B, True),
    ("RNI", "HMP Ranby", _HMP, _C, True),
    ("RSI", "HMP Risley", _HMP, _C, True),
    ("SDI", "HMP Send", _HMP, _FC, True),
    ("SFI", "HMP Stafford", _HMP, _C, True),
    ("SHI", "HMP Stoke Heath", _HMP, _C, True),
    ("SKI", "HMP Stocken", _HMP, _C, True),
    ("SLI", "HMP Swaleside", _HMP, _B, True),
    ("SMI", "HMP Shepton Mallet", _HMP, _C, False),
    ("SNI", "HMP Swinfen Hall", _HMP, _C, True),
    ("SPI", "HMP Spring Hill", _HMP, _D, True),
    ("STI", "HMP Styal", _HMP, _FC, True),
    ("SUI", "HMP Sudbury", _HMP, _D, True),
    ("SWI", "HMP Swansea", _HMP, _B, True),
    ("SYI", "HMP Shrewsbury", _HMP, _B, False),
    ("TCI", "HMP Thorn Cross", _HMP, _D, True),
    ("TSI", "HMP Thameside", _HMP, _B, True),
    ("UKI", "HMP Usk", _HMP, _C, True),
    ("UPI", "HMP Prescoed", _HMP, _D, True),
    ("VEI", "HMP The Verne", _HMP, _C, True),
    ("WBI", "HMP Wellingborough", _HMP, _C, False),
    ("WCI", "HMP Winchester", _HMP, _B, True),
    ("WDI", "HMP Wakefield", _HMP, _A, True),
    ("WEI", "HMP Wealstun", _HMP, _C, True),
    ("WHI", "HMP Woodhill", _HMP, _A, True),
    ("WII", "HMP Warren Hill", _HMP, _C, True),
    ("WLI", "HMP Wayland", _HMP, _C, True),
    ("WMI", "HMP Wymott", _HMP, _C, True),
    ("WNI", "HMYOI Werrington", _YOI, _CH, True),
    ("WOI", "HMP Wolds", _HMP, _C, False),
    ("WRI", "HMP Whitemoor", _HMP, _A, True),
    ("WSI", "HMP Wormwood Scrubs", _HMP, _B, True),
    ("WTI", "HMP Whatton", _HMP, _C, True),
    ("WWI", "HMP Wandsworth", _HMP, _B, True),
    ("WYI", "HMYOI Wetherby", _YOI, _CH, True),
)
