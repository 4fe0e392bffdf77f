"""A deterministic demo roster for the reference schedule: generated people, valid ID numbers.

Per slot, the number of eligible people equals the slot's expected count, spread over its
departments; a few ineligible people (in-service masters, next year's masters) are added for the
demo, and ``off_roster_identities`` gives people with valid cards who are not on the roster.
Nobody here is real: names are drawn from common characters, ID numbers from ``idnumber.make``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

from station.domain import idnumber
from station.domain.identity import Identity

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
# Yunnan region codes (昆明五华/盘龙/官渡/西山/呈贡/安宁, 曲靖, 玉溪, 大理, 红河), plus a few elsewhere.
REGIONS = ("530102", "530103", "530111", "530112", "530114", "530181", "530302", "530402",
           "532901", "532501", "510104", "420102", "450102", "520102")
# (degree, program years, entry year, label, share of a department's graduates)
COHORTS = (("phd", 3, 2014, "博士研究生", 0.12), ("master", 3, 2015, "硕士研究生", 0.55),
           ("master", 2, 2016, "硕士研究生", 0.28))
SIM_DIR = Path(__file__).resolve().parent
# The reference notice's slot table (Yunnan University, 2017-10-25).
SCHEDULE_CSV = SIM_DIR / "schedule_2017-10-25.csv"
HEADER = ["学号", "姓名", "性别", "身份证号", "培养单位", "学历层次", "学制", "入学年份", "学习方式",
          "往届未采集"]


@dataclass(frozen=True)
class SlotPlan:
    departments: tuple[str, ...]
    expected: int


def schedule_plan(path: Path = SCHEDULE_CSV) -> list[SlotPlan]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [SlotPlan(tuple(r["培养单位"].split("、")), int(r["人数"])) for r in csv.DictReader(fh)]


class _People:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.numbers: set[str] = set()
        self.student_nos: set[str] = set()

    def name(self) -> str:
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
        return self.rng.choice(SURNAMES) + given

    def id_number(self, birth_year: int) -> tuple[str, bool]:
        while True:
            male = self.rng.random() < 0.5
            born = dt.date(birth_year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))
            number = idnumber.make(self.rng.choice(REGIONS), born, self.rng.randrange(100), male)
            if number not in self.numbers:
                self.numbers.add(number)
                return number, male

    def person(self, dept_index: int, department: str, degree: str, years: int, entry: int,
               label: str, mode: str = "全日制", earlier: bool = False) -> dict:
        birth_year = entry - (self.rng.randrange(25, 30) if degree == "phd" else self.rng.randrange(21, 25))
        number, male = self.id_number(birth_year)
        while True:
            no = f"{1 if degree == 'phd' else 2}{entry}{dept_index:02d}{self.rng.randrange(10000):04d}"
            if no not in self.student_nos:
                self.student_nos.add(no)
                break
        return {"学号": no, "姓名": self.name(), "性别": "男" if male else "女", "身份证号": number,
                "培养单位": department, "学历层次": label, "学制": str(years), "入学年份": str(entry),
                "学习方式": mode, "往届未采集": "是" if earlier else ""}


def demo_roster(seed: int = 10673, extras: bool = True) -> list[dict]:
    """Rows (Chinese headers) for the reference schedule; eligible counts equal the slot counts."""
    people = _People(seed)
    rows: list[dict] = []
    dept_index = 0
    for plan in schedule_plan():
        share, rest = divmod(plan.expected, len(plan.departments))
        for i, dept in enumerate(plan.departments):
            dept_index += 1
            n = share + (1 if i < rest else 0)
            earlier = max(1, n // 40)
            counts = [round((n - earlier) * c[4]) for c in COHORTS]
            counts[1] += (n - earlier) - sum(counts)
            for (degree, years, entry, label, _), k in zip(COHORTS, counts, strict=True):
                rows += [people.person(dept_index, dept, degree, years, entry, label) for _ in range(k)]
            rows += [people.person(dept_index, dept, "master", 3, 2013, "硕士研究生", earlier=True)
                     for _ in range(earlier)]
            if extras and i == 0:  # an in-service master and a next-year master: not eligible
                rows.append(people.person(dept_index, dept, "master", 3, 2015, "硕士研究生", "非全日制"))
                rows.append(people.person(dept_index, dept, "master", 3, 2016, "硕士研究生"))
    return rows


def off_roster_identities(n: int = 5, seed: int = 4242) -> list[Identity]:
    """Valid cards of people who are not on the demo roster (walk-ins, wrong school)."""
    roster_numbers = {r["身份证号"] for r in demo_roster()}
    people = _People(seed)
    people.numbers |= roster_numbers
    out = []
    for _ in range(n):
        number, male = people.id_number(people.rng.randrange(1988, 1995))
        born = idnumber.birth_date(number)
        out.append(Identity("resident", people.name(), "male" if male else "female",
                            born.isoformat() if born else "", number, nation="汉",
                            address="云南省昆明市五华区翠湖北路2号", issuer="昆明市公安局五华分局",
                            valid_from="2015-01-01", valid_to="2035-01-01"))
    return out


def identity_for(row: dict) -> Identity:
    """The card a roster row's person would carry."""
    number = row["身份证号"]
    born = idnumber.birth_date(number)
    return Identity("resident", row["姓名"], "male" if row["性别"] == "男" else "female",
                    born.isoformat() if born else "", number, nation="汉",
                    address="云南省昆明市呈贡区大学城东外环南路", issuer="昆明市公安局呈贡分局",
                    valid_from="2016-01-01", valid_to="2026-01-01")


def roster_csv(rows: list[dict], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def roster_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(HEADER)
    for r in rows:
        ws.append([r[h] for h in HEADER])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_demo_files(out_dir: Path, fmt: str = "csv", seed: int = 10673) -> dict[str, Path]:
    """Write the schedule and the demo roster (csv = UTF-8 with BOM, gbk, or xlsx) into out_dir."""
    from station.fsio import atomic_write

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = demo_roster(seed)
    roster = out_dir / ("roster.xlsx" if fmt == "xlsx" else f"roster{'-gbk' if fmt == 'gbk' else ''}.csv")
    data = (roster_xlsx(rows) if fmt == "xlsx"
            else roster_csv(rows, "gb18030" if fmt == "gbk" else "utf-8-sig"))
    atomic_write(roster, data)
    schedule = out_dir / SCHEDULE_CSV.name
    atomic_write(schedule, SCHEDULE_CSV.read_bytes())
    return {"roster": roster, "schedule": schedule}


def bulk_roster(n: int, seed: int = 20000) -> list[dict]:
    """``n`` generated rows over the schedule's departments (benchmarks, load tests)."""
    people = _People(seed)
    departments = [d for plan in schedule_plan() for d in plan.departments]
    rows = []
    for i in range(n):
        degree, years, entry, label, _ = COHORTS[i % len(COHORTS)]
        dept = i % len(departments)
        rows.append(people.person(dept + 1, departments[dept], degree, years, entry, label))
    return rows
