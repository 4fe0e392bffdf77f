"""Made-up identities for demos and benchmarks: one of each card type, valid numbers, no real person."""

from __future__ import annotations

import datetime as dt

from station.domain import idnumber
from station.domain.identity import Identity


def _validity(years: int, issued_years_ago: int = 2) -> tuple[str, str]:
    """Validity that is current whenever the demo runs (cards are issued on the 1st of August)."""
    start = dt.date(dt.date.today().year - issued_years_ago, 8, 1)
    return start.isoformat(), start.replace(year=start.year + years).isoformat()


def demo_identity(sequence: int = 7) -> Identity:
    """A resident card of a fictitious Yunnan University graduate."""
    born = dt.date(2002, 3, 14)
    valid_from, valid_to = _validity(10)
    return Identity(card_type="resident", name="李明", gender="male", birth_date=born.isoformat(),
                    id_number=idnumber.make("530102", born, sequence, True), nation="白",
                    address="云南省昆明市五华区翠湖北路2号", issuer="昆明市公安局五华分局",
                    valid_from=valid_from, valid_to=valid_to)


def sample_identities() -> dict[str, tuple[Identity, str]]:
    """One identity per card layout: {label: (identity, layout letter)}."""
    hmt_born = dt.date(2001, 11, 2)
    y_born = dt.date(1999, 6, 30)
    return {
        "resident": (demo_identity(), ""),
        "hmt_residence": (Identity(
            card_type="hmt_residence", name="陈嘉欣", gender="female",
            birth_date=hmt_born.isoformat(),
            id_number=idnumber.make("810000", hmt_born, 21, False),
            address="云南省昆明市呈贡区大学城", issuer="昆明市公安局",
            valid_from=_validity(5)[0], valid_to=_validity(5)[1]), "J"),
        "foreign_2017": (Identity(
            card_type="foreign_permanent", name="马丁", name_en="MARTIN, JEAN PIERRE",
            gender="male", birth_date="1998-02-03", id_number="FRA530098020312",
            nationality="FRA", valid_from=_validity(10)[0], valid_to=_validity(10)[1]), "I"),
        "foreign_2023": (Identity(
            card_type="foreign_permanent", name="安娜", gender="female",
            name_en="SCHMIDT-HOFFMANNSTEIN, ANNA KATHARINA MARIA",
            birth_date=y_born.isoformat(),
            id_number=idnumber.make("953001", y_born, 33, False), nationality="DEU",
            valid_from=_validity(10, 1)[0], valid_to=_validity(10, 1)[1]), "Y"),
    }
