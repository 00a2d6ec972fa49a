"""The demo province as pure functions of a seed: the directory plan, then a stream of 办件 and rating rows.

Nothing here touches the database or the global ``random``: every draw comes from a ``random.Random`` seeded
from the caller's seed, so the same seed, size and end date give the same province, the same grades and
the same comments. ``load.py`` writes what these functions produce.

Skews built in (regime.md §4, so that later integrity and analysis features have something to find):
- overall about nine ratings in ten are good; 3–8% are 默认评价 (grade basic, channel default, no text);
- two or three units and a handful of staff are markedly worse (about a fifth of their ratings bad);
- one unit is suspiciously perfect: 100% 非常满意, mostly on the counter evaluator, with a stock phrase;
- a few recurring problems (planted.py: a hall's broken 叫号机, failing uploads, proof after proof, parking) are
  written into a share of the bad comments of their units, in several wordings, over the whole span.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from haochaping.demo import catalogue as cat
from haochaping.demo import comments as cm
from haochaping.demo import planted
from haochaping.lib.uscc import make_uscc
from haochaping.ratings.codes import ONLINE_CHANNELS

# --- the directory plan ------------------------------------------------------------------------------


@dataclass
class RegionSpec:
    code: str
    name: str
    level: int
    parent: str | None
    slug: str = ""
    factor: float = 1.0  # relative rating volume
    city_name: str = ""


@dataclass
class UnitSpec:
    uscc: str
    name: str
    kind: str
    region: str
    dept: str  # catalogue key, or "agency"
    parent: str | None = None
    short_name: str = ""
    weight: float = 1.0


@dataclass
class HallSpec:
    code: str
    name: str
    kind: str
    region: str
    unit: str
    address: str
    factor: float


@dataclass
class WindowSpec:
    hall: str
    code: str
    name: str
    unit: str


@dataclass
class StaffSpec:
    code: str
    name: str
    unit: str
    window: tuple[str, str] | None
    title: str


@dataclass
class ItemSpec:
    basic_code: str
    implementation_code: str
    name: str
    item_type: str
    service_objects: str
    unit: str
    region: str
    on_site: bool
    online: bool
    weight: float


@dataclass
class PlatformSpec:
    code: str
    name: str
    kind: str
    region: str
    unit: str


@dataclass
class DirectoryPlan:
    province: str
    regions: list[RegionSpec] = field(default_factory=list)
    units: list[UnitSpec] = field(default_factory=list)
    halls: list[HallSpec] = field(default_factory=list)
    windows: list[WindowSpec] = field(default_factory=list)
    staff: list[StaffSpec] = field(default_factory=list)
    items: list[ItemSpec] = field(default_factory=list)
    platforms: list[PlatformSpec] = field(default_factory=list)
    agencies: dict[str, str] = field(default_factory=dict)  # region code → agency USCC
    worse_units: list[str] = field(default_factory=list)  # USCCs
    perfect_unit: str = ""
    worse_staff: list[str] = field(default_factory=list)  # staff codes

    def unit(self, uscc: str) -> UnitSpec:
        return next(u for u in self.units if u.uscc == uscc)

    def region(self, code: str) -> RegionSpec:
        return next(r for r in self.regions if r.code == code)


# The weak spots of the worse units: what their complaints are about.
WORSE_TOPICS = {
    "budongchan": {"waiting": 6, "materials": 4, "notify": 3},
    "renshe": {"notify": 6, "trips": 5, "skill": 2},
    "gongan": {"attitude": 6, "waiting": 4},
    "shuiwu": {"waiting": 5, "efficiency": 4, "system": 4},
    "zhujian": {"efficiency": 5, "trips": 4, "guidance": 3},
}
STAFF_WEAK_TOPICS = {"attitude": 8, "skill": 4, "notify": 2}

ROADS = [
    "市民大道",
    "人民路",
    "解放路",
    "中山路",
    "文化路",
    "建设路",
    "府前路",
    "迎宾大道",
    "新华路",
    "江滨路",
    "学院路",
]
_SURNAME_CUM = list(accumulate(1.0 / (i + 6) for i in range(len(cat.SURNAMES))))


def person_name(rng: random.Random) -> str:
    """A Chinese name: a frequency-weighted surname and a one- or two-character given name."""
    surname = rng.choices(cat.SURNAMES, cum_weights=_SURNAME_CUM)[0]
    pool = cat.GIVEN_CHARS_FEMALE if rng.random() < 0.5 else cat.GIVEN_CHARS_MALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.72 else "")
    return surname + given


def _fmt(template: str, region: RegionSpec) -> str:
    return template.format(r=region.name, rs=region.name[:-1], c=region.city_name)


def plan_directory(seed: int, cities: int = 4) -> DirectoryPlan:
    """The directory of a demo province with `cities` cities (1–7), each with 2–4 counties."""
    if not 1 <= cities <= cat.MAX_CITIES:
        raise ValueError(f"cities 应在 1–{cat.MAX_CITIES} 之间，实际为 {cities}")
    rng = random.Random(f"haochaping-demo-directory-{seed}")
    code, name, slug = cat.PROVINCE
    plan = DirectoryPlan(province=code)
    plan.regions.append(RegionSpec(code, name, 1, None, slug, 0.15))
    counties: list[RegionSpec] = []
    for city_code, city_name, city_slug, factor, county_list in cat.CITIES[:cities]:
        plan.regions.append(RegionSpec(city_code, city_name, 2, code, city_slug, factor))
        picked = sorted(rng.sample(range(len(county_list)), k=rng.randint(2, 4)))
        for index in picked:
            c_code, c_name, c_slug = county_list[index]
            county = RegionSpec(c_code, c_name, 3, city_code, c_slug, factor * rng.uniform(0.6, 1.1), city_name)
            plan.regions.append(county)
            counties.append(county)
    for county in counties:
        stems = rng.sample(cat.TOWNSHIP_STEMS, k=rng.randint(3, 5))
        for i, stem in enumerate(stems):
            if county.name.endswith("区") or i < 2:
                t_name, t_code = stem + "街道", f"{county.code[:6]}{i + 1:03d}000"
            else:
                t_name, t_code = stem + "镇", f"{county.code[:6]}{100 + i:03d}000"
            plan.regions.append(RegionSpec(t_code, t_name, 4, county.code, factor=county.factor * 0.3))
    _plan_units(plan, rng)
    _plan_halls_and_staff(plan, rng)
    _plan_items(plan, rng)
    _plan_platforms(plan)
    _plan_skews(plan, rng)
    return plan


def _plan_units(plan: DirectoryPlan, rng: random.Random) -> None:
    used: set[str] = set()

    def uscc(kind: str, region: str) -> str:
        authority, org_kind = cat.USCC_PREFIX.get(kind, cat.USCC_PREFIX_OTHER)
        while True:
            org8 = f"{rng.randrange(10**8):08d}"
            code = make_uscc(authority, org_kind, region[:6], org8)
            if code not in used:
                used.add(code)
                return code

    for region in [r for r in plan.regions if r.level <= 3]:
        agency = UnitSpec(
            uscc("agency", region.code), _fmt(cat.AGENCY_NAMES[region.level], region), "agency", region.code, "agency"
        )
        agency.short_name = "政务服务管理机构"
        plan.units.append(agency)
        plan.agencies[region.code] = agency.uscc
        by_key: dict[str, UnitSpec] = {}
        for dept in cat.DEPARTMENTS:
            template = {1: dept.province, 2: dept.city, 3: dept.county}[region.level]
            if region.level == 3 and dept.district and region.name.endswith("区"):
                template = dept.district
            if template is None or (region.level == 3 and dept.weight < 0.5 and rng.random() < 0.3):
                continue
            parent = by_key.get(dept.parent) if dept.parent else None
            unit = UnitSpec(
                uscc(dept.kind, region.code),
                _fmt(template, region),
                dept.kind,
                region.code,
                dept.key,
                parent=parent.uscc if parent else None,
                weight=dept.weight,
            )
            by_key[dept.key] = unit
            plan.units.append(unit)


def _plan_halls_and_staff(plan: DirectoryPlan, rng: random.Random) -> None:
    staff_seq: dict[str, int] = {}
    units_by_region: dict[str, dict[str, UnitSpec]] = {}
    for unit in plan.units:
        units_by_region.setdefault(unit.region, {})[unit.dept] = unit

    def add_staff(unit: UnitSpec, window: tuple[str, str] | None) -> None:
        region6 = unit.region[:6]
        staff_seq[region6] = staff_seq.get(region6, 0) + 1
        titles = cat.STAFF_TITLES_WINDOW if window else cat.STAFF_TITLES_BACK
        plan.staff.append(
            StaffSpec(f"{region6}{staff_seq[region6]:04d}", person_name(rng), unit.uscc, window, rng.choice(titles))
        )

    def add_window(hall: HallSpec, name: str, unit: UnitSpec) -> None:
        code = f"{sum(1 for w in plan.windows if w.hall == hall.code) + 1:02d}"
        plan.windows.append(WindowSpec(hall.code, code, name, unit.uscc))
        people = (
            1 + (rng.random() < 0.6) + (rng.random() < 0.25) if hall.kind != "station" else 1 + (rng.random() < 0.4)
        )
        for _ in range(people):
            add_staff(unit, (hall.code, code))

    for region in plan.regions:
        units = units_by_region.get(region.code)
        if region.level <= 3 and units:
            scale = {1: 0.4, 2: 1.0, 3: 0.7}[region.level]
            hall = HallSpec(
                f"H{region.code}",
                f"{region.name}政务服务中心",
                "centre",
                region.code,
                units["agency"].uscc,
                f"{region.name}{rng.choice(ROADS)}{rng.randint(1, 399)}号",
                region.factor,
            )
            plan.halls.append(hall)
            for w_name, count in cat.AGENCY_WINDOWS:
                for _ in range(max(1, round(count * scale))):
                    add_window(hall, w_name, units["agency"])
            for dept in cat.DEPARTMENTS:
                if dept.key in units:
                    for w_name, count in dept.windows:
                        for _ in range(max(1, round(count * scale))):
                            add_window(hall, w_name, units[dept.key])
        elif region.level == 4:
            county_units = units_by_region[region.parent or ""]
            hall = HallSpec(
                f"H{region.code}",
                f"{region.name}便民服务中心",
                "station",
                region.code,
                county_units["agency"].uscc,
                f"{plan.region(region.parent or '').name}{region.name}{rng.choice(ROADS)}{rng.randint(1, 199)}号",
                region.factor,
            )
            plan.halls.append(hall)
            add_window(hall, cat.STATION_AGENCY_WINDOW, county_units["agency"])
            seen: set[str] = set()
            for dept in cat.DEPARTMENTS:
                if dept.station and dept.station not in seen and dept.key in county_units:
                    if dept.key == "gongan" and rng.random() < 0.5:
                        continue
                    seen.add(dept.station)
                    add_window(hall, dept.station, county_units[dept.key])
    for unit in plan.units:
        for _ in range(1 if unit.dept == "agency" else rng.randint(1, 2)):
            add_staff(unit, None)


def _plan_items(plan: DirectoryPlan, rng: random.Random) -> None:
    level_letter = {1: "P", 2: "C", 3: "X"}
    dept_index = {d.key: i for i, d in enumerate(cat.DEPARTMENTS)}
    regions = {r.code: r for r in plan.regions}
    for unit in plan.units:
        if unit.dept == "agency":
            continue
        dept = cat.DEPT_BY_KEY[unit.dept]
        region = regions[unit.region]
        letter = level_letter[region.level]
        candidates = [(i, it) for i, it in enumerate(dept.items) if letter in it.levels or region.level == 1]
        if region.level == 1:
            # Province departments keep the province-only items and a few of the rest.
            candidates = [(i, it) for i, it in candidates if "P" in it.levels or rng.random() < 0.35]
        kept = [(i, it) for i, it in candidates if rng.random() < 0.85] or candidates[:2]
        for i, it in kept:
            basic = f"{dept_index[dept.key] + 1:04d}{it.item_type}{i + 1:03d}000"
            plan.items.append(
                ItemSpec(
                    basic,
                    unit.uscc + basic,
                    it.name,
                    it.item_type,
                    it.objects,
                    unit.uscc,
                    unit.region,
                    it.on_site,
                    it.online,
                    it.weight * region.factor,
                )
            )


def _plan_platforms(plan: DirectoryPlan) -> None:
    for region in plan.regions:
        agency = plan.agencies.get(region.code)
        if region.level == 1:
            kinds = [("web", "WEB", f"{region.name}政务服务网"), ("app", "APP", f"{region.name[:-1]}政务服务App")]
        elif region.level == 2:
            short = region.name[:-1]
            kinds = [
                ("web", "WEB", f"{region.name}网上办事大厅"),
                ("app", "APP", f"{short}办事App"),
                ("mini_program", "MINI", f"{short}政务服务小程序"),
                ("terminal", "TERM", f"{region.name}政务服务自助终端"),
                ("hotline", "12345", f"{region.name}12345政务服务便民热线"),
            ]
        else:
            continue
        for kind, suffix, p_name in kinds:
            plan.platforms.append(PlatformSpec(f"P{region.code[:6]}-{suffix}", p_name, kind, region.code, agency or ""))


def _plan_skews(plan: DirectoryPlan, rng: random.Random) -> None:
    regions = {r.code: r for r in plan.regions}
    windowed = {w.unit for w in plan.windows}
    county_units = [u for u in plan.units if regions[u.region].level == 3 and u.uscc in windowed]
    candidates = [u for u in county_units if u.dept in cat.WORSE_UNIT_CANDIDATES]
    rng.shuffle(candidates)
    want = 3 if len({u.region for u in county_units}) >= 3 else 2
    used_depts: set[str] = set()
    used_regions: set[str] = set()
    for unit in candidates:
        if unit.dept not in used_depts and unit.region not in used_regions:
            plan.worse_units.append(unit.uscc)
            used_depts.add(unit.dept)
            used_regions.add(unit.region)
        if len(plan.worse_units) == want:
            break
    # The perfect unit must be busy enough to stand out: one of the candidates in the busiest counties.
    perfect = [u for u in county_units if u.dept in cat.PERFECT_UNIT_CANDIDATES and u.region not in used_regions]
    perfect = perfect or [u for u in county_units if u.dept in cat.PERFECT_UNIT_CANDIDATES]
    perfect.sort(key=lambda u: -regions[u.region].factor * u.weight)
    plan.perfect_unit = rng.choice(perfect[:3]).uscc
    excluded = set(plan.worse_units) | {plan.perfect_unit}
    halls = {h.code: h for h in plan.halls}
    busy = [s for s in plan.staff if s.window and s.unit not in excluded and halls[s.window[0]].kind == "centre"]
    plan.worse_staff = sorted(s.code for s in rng.sample(busy, k=min(6, len(busy))))


# --- the activity stream: 办件 and ratings ---------------------------------------------------------------

# Column order of the tuples below; load.py maps them onto the models' columns by name.
CASE_COLUMNS = (
    "id",
    "case_no",
    "service_item_id",
    "unit_id",
    "region_id",
    "hall_id",
    "window_id",
    "staff_id",
    "stage",
    "status",
    "online",
    "applicant_kind",
    "applicant_name_enc",
    "applicant_phone_enc",
    "applicant_phone_hash",
    "accepted_at",
    "completed_at",
    "created_at",
    "updated_at",
)
RATING_COLUMNS = (
    "public_id",
    "target",
    "service_case_id",
    "stage",
    "sequence",
    "grade",
    "channel",
    "service_item_id",
    "unit_id",
    "region_id",
    "hall_id",
    "window_id",
    "staff_id",
    "platform_id",
    "tag_set_id",
    "tags",
    "answers",
    "comment",
    "is_default",
    "is_anonymous",
    "is_public",
    "rater_kind",
    "rater_name_enc",
    "rater_phone_enc",
    "rater_phone_hash",
    "rated_at",
    "received_at",
    "client",
)
OFFER_COLUMNS = (
    "kind", "channel", "service_case_id", "stage", "unit_id", "region_id", "window_id", "staff_id", "source",
    "offered_at",
)  # fmt: skip
# Which offer precedes a rating on a channel (ratings.RatingOffer.Kind); paper, phone and default have none.
OFFER_KIND = {
    "hall_tablet": "evaluator", "hall_terminal": "evaluator", "qr": "qr_scan", "sms": "sms", "pc": "widget",
    "app": "widget", "mini_program": "widget",
}  # fmt: skip
CLIENT = "demo"
DAYS = 395  # about 13 months
DEFAULT_AFTER_DAYS = 7  # an unrated completed case gets its 默认评价 this long after completion
ONLINE_CHANNEL_SET = frozenset(str(c) for c in ONLINE_CHANNELS)  # as intake decides the tag set


@dataclass(frozen=True)
class Ids:
    """Database ids of the planned directory, keyed like the plan (codes and USCCs)."""

    regions: dict[str, int]
    units: dict[str, int]
    halls: dict[str, int]
    windows: dict[tuple[str, str], int]
    staff: dict[str, int]
    items: dict[str, int]
    platforms: dict[str, int]

    @classmethod
    def sequential(cls, plan: DirectoryPlan) -> Ids:
        """Ids 1…n in plan order (what a fresh database assigns): lets tests run the stream without one."""

        def number(keys):
            return {k: i + 1 for i, k in enumerate(keys)}

        return cls(
            regions=number(r.code for r in plan.regions),
            units=number(u.uscc for u in plan.units),
            halls=number(h.code for h in plan.halls),
            windows=number((w.hall, w.code) for w in plan.windows),
            staff=number(s.code for s in plan.staff),
            items=number(i.implementation_code for i in plan.items),
            platforms=number(p.code for p in plan.platforms),
        )


@dataclass(frozen=True)
class TagSets:
    """The active tag sets: id per kind ("online"/"onsite") and, per kind, tag code → grades it fits."""

    ids: dict[str, int]
    tags: dict[str, dict[str, frozenset[int]]]


@dataclass(frozen=True)
class Adapters:
    """How values reach the database: datetimes from epoch seconds, UUIDs from 128-bit ints, personal data."""

    dt: Callable[[int], object]
    uuid: Callable[[int], object]
    # index → (name_enc, phone_enc, phone_hash) of a fake person from a small pool (Fernet is slow)
    person: Callable[[int], tuple[str, str, str]]
    people: int = 2000


@dataclass
class Chunk:
    cases: list[tuple]
    ratings: list[tuple]
    offers: list[tuple] = field(default_factory=list)


@dataclass
class _Unit:
    id: int
    region_id: int
    bad: float
    basic: float
    very: float
    perfect: bool
    bias: dict[str, float] | None
    platforms: dict[str, str] = field(default_factory=dict)  # online channel → name of the local platform


@dataclass
class _Item:
    id: int
    name: str
    unit: _Unit
    enterprise: float  # share of legal-entity applicants
    back_staff: list[int]


@dataclass
class _Window:
    id: int
    hall_id: int
    hall_region_id: int
    unit: _Unit
    staff: list[int]
    items: list[_Item]
    item_cum: list[float]


# Channel mixes: (channels, cumulative weights).
def _mix(**weights: float) -> tuple[list[str], list[float]]:
    return list(weights), list(accumulate(weights.values()))


MIX_COUNTER = _mix(hall_tablet=68, qr=24, paper=4, hall_terminal=4)
MIX_COUNTER_PERFECT = _mix(hall_tablet=96, qr=4)
MIX_LATER_ONSITE = _mix(sms=42, app=18, mini_program=20, pc=5, phone=15)
MIX_ONLINE_ACCEPT = _mix(pc=40, app=35, mini_program=25)
MIX_ONLINE_COMPLETE = _mix(pc=30, app=28, mini_program=24, sms=18)
MIX_WALK_IN = _mix(hall_tablet=55, qr=35, paper=6, hall_terminal=4)
MIX_ITEM = _mix(pc=30, app=30, mini_program=20, qr=20)
MIX_HALL = _mix(qr=60, paper=25, hall_tablet=15)
MIX_UNIT = _mix(phone=50, pc=30, qr=20)
PLATFORM_CHANNEL = {"web": "pc", "app": "app", "mini_program": "mini_program", "terminal": "hall_terminal"}
PLATFORM_KIND_WEIGHT = {"web": 3, "app": 3, "mini_program": 2, "terminal": 1, "hotline": 1}
CONTEXT_OF_CHANNEL = {
    "pc": cm.ONLINE,
    "app": cm.ONLINE,
    "mini_program": cm.ONLINE,
    "qr": cm.ONSITE,
    "hall_tablet": cm.ONSITE,
    "paper": cm.ONSITE,
    "hall_terminal": cm.ONSITE,
    "sms": cm.SMS,
    "phone": cm.PHONE,
}
# Non-case rating kinds and their shares.
NONCASE_KINDS, NONCASE_CUM = _mix(window=45, platform=25, item=18, hall=7, unit=5)
# Time of day, in 10-minute slots from midnight: halls open 8:30–12:00 and 13:30–17:30, busiest mid-morning.
ONSITE_SLOTS = [s for s in range(144) if 51 <= s < 72 or 81 <= s < 105]
ONSITE_CUM = list(
    accumulate((2.2 if 57 <= s < 69 else 1.8 if 87 <= s < 99 else 1.0) * (0.5 if s >= 102 else 1) for s in ONSITE_SLOTS)
)
# Weekends: a few halls open 9:00–12:00 for appointments.
WEEKEND_SLOTS = list(range(54, 72))
WEEKEND_CUM = list(accumulate(1.0 for _ in WEEKEND_SLOTS))
ONLINE_HOURLY = [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.2, 2.5, 2.3, 1.6, 1.8, 2.2, 2.3, 2.1, 1.8, 1.5]
ONLINE_HOURLY += [1.8, 2.2, 2.3, 1.6, 0.8]
ONLINE_CUM = list(accumulate(ONLINE_HOURLY))
PROMISE_DAYS = (1, 1, 2, 3, 3, 5, 5, 7, 10, 15)  # 承诺件 promised working days, roughly
WEEKDAY_WEIGHT = [1.12, 1.0, 1.0, 0.98, 0.9, 0.2, 0.08]
# Public holidays when the halls are closed (国庆, 劳动节, 春节): volume drops like a Sunday.
SPRING_FESTIVAL = {2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13)}


def _is_holiday(day: date) -> bool:
    if (day.month == 10 and day.day <= 7) or (day.month == 5 and day.day <= 5) or (day.month == 1 and day.day == 1):
        return True
    spring = SPRING_FESTIVAL.get(day.year)
    if spring:
        first = date(day.year, *spring)
        return first - timedelta(days=1) <= day <= first + timedelta(days=6)
    return False


def end_of_demo(now: datetime, tz: str = "Asia/Shanghai") -> datetime:
    """The demo's data ends at the start of today (local time), so the same seed on the same day gives the same rows."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(tz))


class ActivityGenerator:
    """Generates 办件 and rating rows day by day over the last ~13 months until `ratings` rows exist."""

    def __init__(
        self,
        plan: DirectoryPlan,
        ids: Ids,
        *,
        ratings: int,
        seed: int,
        end: datetime,
        tag_sets: TagSets,
        adapters: Adapters,
        case_id_start: int = 1,
        chunk_size: int = 20000,
    ):
        self.plan, self.target, self.end = plan, ratings, end
        self.end_ts = int(end.timestamp())
        self.rng = random.Random(f"haochaping-demo-activity-{seed}")
        self.comment_rng = random.Random(f"haochaping-demo-comments-{seed}")
        # Offers (邀评记录) draw from their own stream, so adding them left the ratings exactly as they were.
        self.offer_rng = random.Random(f"haochaping-demo-offers-{seed}")
        # Planted recurring problems (planted.py) replace some bad comments, drawing from their own stream too.
        self.planted = planted.plan_problems(plan)
        self.planter = planted.Planter(self.planted, ids, seed)
        self.tag_sets, self.adapters = tag_sets, adapters
        self.next_case_id = case_id_start
        self.chunk_size = chunk_size
        self.cases: list[tuple] = []
        self.ratings: list[tuple] = []
        self.offers: list[tuple] = []
        self.stats = {
            "ratings": 0, "case_bound": 0, "cases": 0, "good": 0, "bad": 0, "default": 0, "comments": 0, "offers": 0,
        }  # fmt: skip
        self._tags_json: dict[tuple[str, ...], str] = {(): "[]"}
        self._answers_json: dict[tuple[tuple[str, str], ...], str] = {}
        self._build(ids)

    # -- compiled directory ------------------------------------------------------------------------

    def _build(self, ids: Ids) -> None:
        rng, plan = self.rng, self.plan
        worse = set(plan.worse_units)
        regions = {r.code: r for r in plan.regions}
        online_platforms: dict[str, dict[str, str]] = {}
        for p in plan.platforms:
            if p.kind in ("web", "app", "mini_program"):
                online_platforms.setdefault(p.region, {})[PLATFORM_CHANNEL[p.kind]] = p.name

        def platforms_of(code: str) -> dict[str, str]:
            # A county's online services run on its city's platforms.
            while code not in online_platforms and regions[code].parent:
                code = regions[code].parent or ""
            return online_platforms.get(code, {})

        self.units: dict[str, _Unit] = {}
        for u in plan.units:
            if u.uscc == plan.perfect_unit:
                profile = (0.0, 0.0, 1.0)
            elif u.uscc in worse:
                profile = (rng.uniform(0.17, 0.24), rng.uniform(0.08, 0.12), rng.uniform(0.45, 0.6))
            else:
                profile = (rng.uniform(0.008, 0.045), rng.uniform(0.01, 0.03), rng.uniform(0.66, 0.86))
            bias = WORSE_TOPICS.get(u.dept) if u.uscc in worse else None
            self.units[u.uscc] = _Unit(
                ids.units[u.uscc],
                ids.regions[u.region],
                *profile,
                u.uscc == plan.perfect_unit,
                bias,
                platforms_of(u.region),
            )
        self.worse_staff = {ids.staff[c]: (rng.uniform(0.15, 0.28), 0.1, 0.5) for c in plan.worse_staff}
        back: dict[str, list[int]] = {}
        by_window: dict[tuple[str, str], list[int]] = {}
        for s in plan.staff:
            if s.window:
                by_window.setdefault(s.window, []).append(ids.staff[s.code])
            else:
                back.setdefault(s.unit, []).append(ids.staff[s.code])
        self.items: list[_Item] = []
        items_by_unit: dict[str, list[tuple[_Item, float, bool]]] = {}
        online_items, online_weights = [], []
        for it in plan.items:
            objects = it.service_objects.split(",")
            enterprise = 0.0 if "2" not in objects and "5" not in objects else 0.85 if "1" not in objects else 0.3
            item = _Item(ids.items[it.implementation_code], it.name, self.units[it.unit], enterprise, back[it.unit])
            self.items.append(item)
            items_by_unit.setdefault(it.unit, []).append((item, it.weight, it.on_site))
            if it.online:
                online_items.append(item)
                online_weights.append(it.weight)
        self.online_items, self.online_cum = online_items, list(accumulate(online_weights))
        halls = {h.code: h for h in plan.halls}
        region_units: dict[str, list[str]] = {}
        for u in plan.units:
            region_units.setdefault(u.region, []).append(u.uscc)
        self.windows: list[_Window] = []
        window_weights = []
        for w in plan.windows:
            hall = halls[w.hall]
            unit = plan.unit(w.unit)
            if unit.dept == "agency":
                # 综合受理 (一窗受理): the agency's windows take in the 事项 of every department around.
                region = hall.region if hall.kind != "station" else (plan.region(hall.region).parent or "")
                pool = [x for uscc in region_units.get(region, []) for x in items_by_unit.get(uscc, [])]
                weight = 1.6 if w.name == cat.STATION_AGENCY_WINDOW else 0.5
            else:
                pool = items_by_unit.get(w.unit, [])
                weight = unit.weight
            pool = [(item, wt) for item, wt, on_site in pool if on_site]
            if not pool:
                continue
            self.windows.append(
                _Window(
                    ids.windows[(w.hall, w.code)],
                    ids.halls[w.hall],
                    ids.regions[hall.region],
                    self.units[w.unit],
                    by_window.get((w.hall, w.code), []),
                    [item for item, _ in pool],
                    list(accumulate(wt for _, wt in pool)),
                )
            )
            window_weights.append(weight * hall.factor)
        self.window_cum = list(accumulate(window_weights))
        self.halls = [(ids.halls[h.code], self.units[h.unit], ids.regions[h.region]) for h in plan.halls]
        self.hall_cum = list(accumulate(h.factor for h in plan.halls))
        self.platforms = []
        platform_weights = []
        for p in plan.platforms:
            factor = plan.region(p.region).factor
            self.platforms.append((ids.platforms[p.code], p.kind, p.name, self.units[p.unit], ids.regions[p.region]))
            platform_weights.append(PLATFORM_KIND_WEIGHT[p.kind] * (0.6 if factor < 0.5 else factor))
        self.platform_cum = list(accumulate(platform_weights))
        self.platform_profile = _Unit(0, 0, 0.045, 0.05, 0.6, False, {"system": 6})
        self.unit_list = [(self.units[u.uscc], u.weight * regions[u.region].factor) for u in plan.units]
        self.unit_cum = list(accumulate(w for _, w in self.unit_list))
        self.region_codes = {ids.regions[r.code]: r.code[:6] for r in plan.regions}  # for 办件编号
        self.valid_tags = {
            kind: {g: sorted(c for c, grades in tags.items() if g in grades) for g in range(1, 6)}
            for kind, tags in self.tag_sets.tags.items()
        }

    # -- helpers -----------------------------------------------------------------------------------

    def _grade(self, unit: _Unit, staff_id: int | None) -> int:
        rnd = self.rng.random
        bad, basic, very = unit.bad, unit.basic, unit.very
        if staff_id is not None and staff_id in self.worse_staff and not unit.perfect:
            bad, basic, very = self.worse_staff[staff_id]
        r = rnd()
        if r < bad:
            return 1 if rnd() < 0.4 else 2
        if r < bad + basic:
            return 3
        return 5 if rnd() < very else 4

    def _onsite_time(self, day_ts: int, weekend: bool) -> int:
        rnd = self.rng.random
        slots, cum = (WEEKEND_SLOTS, WEEKEND_CUM) if weekend else (ONSITE_SLOTS, ONSITE_CUM)
        slot = slots[bisect(cum, rnd() * cum[-1])]
        return day_ts + slot * 600 + int(rnd() * 600)

    def _online_time(self, day_ts: int) -> int:
        rnd = self.rng.random
        hour = bisect(ONLINE_CUM, rnd() * ONLINE_CUM[-1])
        return day_ts + hour * 3600 + int(rnd() * 3600)

    def _pick(self, mix: tuple[list[str], list[float]]) -> str:
        options, cum = mix
        return options[bisect(cum, self.rng.random() * cum[-1])]

    def _uuid(self) -> object:
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC variant
        return self.adapters.uuid(n)

    def _tags(self, grade: int, channel: str, topic: str | None) -> tuple[int | None, str]:
        kind = "online" if channel in ONLINE_CHANNEL_SET else "onsite"
        tag_set_id = self.tag_sets.ids.get(kind)
        if tag_set_id is None or channel in ("sms", "phone", "default"):
            return tag_set_id, "[]"
        rng = self.rng
        share = 0.35 if grade >= 4 else 0.4 if grade == 3 else 0.75
        if rng.random() >= share:
            return tag_set_id, "[]"
        valid = self.valid_tags[kind][grade]
        if not valid:
            return tag_set_id, "[]"
        chosen: list[str] = []
        fitting = cm.TOPIC_TAGS[kind].get(topic or "")
        if fitting:
            code = fitting[0 if grade >= 4 else 1 if grade == 3 else 2]
            if code in valid:
                chosen.append(code)
        if not chosen or rng.random() < 0.35:
            extra = rng.choice(valid)
            if extra not in chosen:
                chosen.append(extra)
        key = tuple(sorted(chosen))
        text = self._tags_json.get(key)
        if text is None:
            text = self._tags_json[key] = json.dumps(list(key), separators=(",", ":"))
        return tag_set_id, text

    def _answers(self, grade: int, context: str) -> str:
        rng = self.rng
        if context not in (cm.ONSITE, cm.ONLINE) or rng.random() >= 0.12:
            return "{}"
        questions = ["guidance_clear", "process_convenient", "materials_simplified"]
        if context == cm.ONLINE:
            questions.append("interface_friendly")
        if grade >= 4:
            pool = ("yes",) * 17 + ("unsure",) * 3
        elif grade == 3:
            pool = ("unsure",) * 12 + ("yes",) * 5 + ("no",) * 3
        else:
            pool = ("no",) * 14 + ("unsure",) * 4 + ("yes",) * 2
        picked = rng.sample(questions, k=rng.randint(2, len(questions)))
        key = tuple((q, rng.choice(pool)) for q in sorted(picked))
        text = self._answers_json.get(key)
        if text is None:
            text = self._answers_json[key] = json.dumps(dict(key), separators=(",", ":"))
        return text

    def _rating(
        self,
        *,
        target: str,
        unit: _Unit,
        region_id: int,
        channel: str,
        rated_at: int,
        context: str,
        grade: int | None = None,
        case_id: int | None = None,
        stage: str = "",
        sequence: int = 1,
        item: _Item | None = None,
        hall_id: int | None = None,
        window_id: int | None = None,
        staff_id: int | None = None,
        platform_id: int | None = None,
        platform_name: str = "",
        enterprise: float = 0.0,
        is_default: bool = False,
        bias: dict[str, float] | None = None,
    ) -> int:
        rng, crng = self.rng, self.comment_rng
        stats = self.stats
        if stats["ratings"] >= self.target:
            return grade or 3  # the requested number is reached: the 办件 stays unrated from here on
        if is_default:
            grade, tag_set_id, tags, answers, comment, public = (
                3,
                self.tag_sets.ids.get("onsite"),
                "[]",
                "{}",
                "",
                False,
            )
            stats["default"] += 1
        else:
            if grade is None:
                grade = self._grade(unit, staff_id)
            polarity = cm.band(grade)
            topic = None
            comment = ""
            if unit.perfect:
                if rng.random() < 0.4:
                    comment = crng.choice(cm.STANDARD_ANSWERS)
            elif rng.random() < (0.24 if grade >= 4 else 0.3 if grade == 3 else 0.72):
                topic_context = context if context in (cm.ONSITE, cm.ONLINE) else cm.ONSITE
                if staff_id in self.worse_staff:
                    bias = STAFF_WEAK_TOPICS
                topic = cm.pick_topic(crng, polarity, topic_context, bias or unit.bias)
                if not platform_name and channel in ONLINE_CHANNEL_SET:
                    platform_name = unit.platforms.get(channel, "")
                comment = cm.compose(
                    crng,
                    grade=grade,
                    context=context,
                    topic=topic,
                    item=item.name if item else "",
                    platform=platform_name,
                )
                if grade <= 2:
                    comment = self.planter.comment(unit.id, hall_id, comment)
            tag_set_id, tags = self._tags(grade, channel, topic)
            answers = self._answers(grade, context)
            public = bool(comment) and rng.random() < 0.4
            if comment:
                stats["comments"] += 1
        if grade >= 4:
            stats["good"] += 1
        elif grade <= 2:
            stats["bad"] += 1
        rnd = rng.random
        kind = 2 if enterprise and rnd() < enterprise else 1
        name_enc = phone_enc = phone_hash = ""
        if not is_default and rnd() < (0.05 if grade <= 2 else 0.004):
            name_enc, phone_enc, phone_hash = self.adapters.person(int(rnd() * self.adapters.people))
        delay = 86400 + int(rnd() * 4 * 86400) if channel == "paper" else 1 + int(rnd() * 90)
        received = min(rated_at + delay, self.end_ts)
        dt = self.adapters.dt
        self.ratings.append(
            (
                self._uuid(),
                target,
                case_id,
                stage,
                sequence,
                grade,
                channel,
                item.id if item else None,
                unit.id,
                region_id,
                hall_id,
                window_id,
                staff_id,
                platform_id,
                tag_set_id,
                tags,
                answers,
                comment,
                is_default,
                not phone_enc,
                public,
                kind,
                name_enc,
                phone_enc,
                phone_hash,
                dt(rated_at),
                dt(received),
                CLIENT,
            )
        )
        stats["ratings"] += 1
        if not is_default and channel in OFFER_KIND:
            r = self.offer_rng.random()
            before = 3600 + int(r * 7200) if channel == "sms" else 5 + int(r * 60)  # an SMS waits; a prompt does not
            self._offer(channel, rated_at - before, unit.id, region_id, case_id, stage, window_id, staff_id)
        return grade

    def _offer(
        self,
        channel: str,
        at: int,
        unit_id: int,
        region_id: int,
        case_id: int | None = None,
        stage: str = "",
        window_id: int | None = None,
        staff_id: int | None = None,
    ) -> None:
        if at > self.end_ts:
            return
        kind = OFFER_KIND[channel]
        self.offers.append(
            (kind, channel, case_id, stage, unit_id, region_id, window_id, staff_id, "demo", self.adapters.dt(at))
        )
        self.stats["offers"] += 1

    def _unanswered_offers(
        self,
        bound: dict,
        *,
        onsite: bool,
        counter_at: int,
        counter_stage: str,
        done: bool,
        completed: int,
        rated_stages: set[str],
    ) -> None:
        """Offers nobody took up: the evaluator shown at the counter, the widget or SMS after completion."""
        if self.stats["ratings"] >= self.target:
            return
        orng = self.offer_rng.random
        where = (bound["unit"].id, bound["region_id"], bound["case_id"])
        people = (bound["window_id"], bound["staff_id"])
        if onsite and counter_stage not in rated_stages and orng() < 0.85:
            self._offer("hall_tablet", counter_at + 15, *where, counter_stage, *people)
        if done and "complete" not in rated_stages:
            if not onsite and orng() < 0.6:
                channel = ("pc", "app", "mini_program")[int(orng() * 3)]
                self._offer(channel, completed + 300, *where, "complete", *people)
            elif orng() < 0.2:
                self._offer("sms", completed + 3600, *where, "complete", *people)

    # -- events ------------------------------------------------------------------------------------

    def _case(self, day_ts: int, day_str: str, weekend: bool) -> None:
        rng = self.rng
        rnd = rng.random
        end = self.end_ts
        onsite = rnd() < 0.62
        if onsite:
            w = self.windows[bisect(self.window_cum, rnd() * self.window_cum[-1])]
            item = w.items[bisect(w.item_cum, rnd() * w.item_cum[-1])]
            staff_id = w.staff[int(rnd() * len(w.staff))] if w.staff else None
            hall_id, window_id = w.hall_id, w.id
            accepted = self._onsite_time(day_ts, weekend)
            instant = rnd() < 0.55
        else:
            item = self.online_items[bisect(self.online_cum, rnd() * self.online_cum[-1])]
            back = item.back_staff
            staff_id = back[int(rnd() * len(back))] if back and rnd() < 0.7 else None
            hall_id = window_id = None
            accepted = self._online_time(day_ts)
            instant = False
        unit = item.unit
        if instant:
            completed = accepted + 600 + int(rnd() * 2100)
        else:
            completed = accepted + PROMISE_DAYS[int(rnd() * len(PROMISE_DAYS))] * 86400 + int(rnd() * 7200) - 3600
        done = completed <= end
        case_id = self.next_case_id
        self.next_case_id += 1
        region_id = unit.region_id
        bound = {"case_id": case_id, "unit": unit, "region_id": region_id, "item": item, "hall_id": hall_id}
        bound.update(window_id=window_id, staff_id=staff_id, enterprise=item.enterprise, target="case")
        rated: list[tuple[str, int, int, str]] = []  # (stage, grade, rated_at, channel)
        sms_phone = False
        if onsite:
            if rnd() < 0.86:
                stage = "complete" if instant else "accept"
                at = (completed if instant else accepted) + 20 + int(rnd() * 280)
                if at <= end:
                    ch = self._pick(MIX_COUNTER_PERFECT if unit.perfect else MIX_COUNTER)
                    g = self._rating(stage=stage, channel=ch, rated_at=at, context=CONTEXT_OF_CHANNEL[ch], **bound)
                    rated.append((stage, g, at, ch))
            if not instant and done and rnd() < 0.32:
                at = completed + 600 + int(rnd() * 3 * 86400)
                if at <= end:
                    ch = self._pick(MIX_LATER_ONSITE)
                    sms_phone = sms_phone or ch == "sms"
                    g = self._rating(stage="complete", channel=ch, rated_at=at, context=CONTEXT_OF_CHANNEL[ch], **bound)
                    rated.append(("complete", g, at, ch))
        else:
            if rnd() < 0.22:
                at = accepted + 30 + int(rnd() * 3570)
                if at <= end:
                    ch = self._pick(MIX_ONLINE_ACCEPT)
                    g = self._rating(stage="accept", channel=ch, rated_at=at, context=cm.ONLINE, **bound)
                    rated.append(("accept", g, at, ch))
            if done and rnd() < 0.5:
                at = completed + 300 + int(rnd() * 2 * 86400)
                if at <= end:
                    ch = self._pick(MIX_ONLINE_COMPLETE)
                    sms_phone = sms_phone or ch == "sms"
                    g = self._rating(stage="complete", channel=ch, rated_at=at, context=CONTEXT_OF_CHANNEL[ch], **bound)
                    rated.append(("complete", g, at, ch))
        self._unanswered_offers(
            bound,
            onsite=onsite,
            counter_at=completed if instant else accepted,
            counter_stage="complete" if instant else "accept",
            done=done,
            completed=completed,
            rated_stages={stage for stage, *_ in rated},
        )
        if (
            done
            and not unit.perfect
            and not any(stage == "complete" for stage, *_ in rated)
            and rnd() < (0.17 if onsite else 0.15)
        ):
            at = completed + DEFAULT_AFTER_DAYS * 86400
            if at <= end:
                self._rating(stage="complete", channel="default", rated_at=at, context="", is_default=True, **bound)
        if rated and not unit.perfect:
            stage, first, at, ch = rated[-1]
            if rnd() < (0.3 if first <= 2 else 0.02):
                at += (1 + int(rnd() * 13)) * 86400  # within the default 追评 window (15 days)
                if at <= end:
                    if first <= 2:
                        grade = rng.choices((5, 4, 3, 2, 1), cum_weights=(25, 55, 75, 88, 100))[0]
                    else:
                        grade = self._grade(unit, staff_id)
                    ch = "phone" if rnd() < 0.2 else ch
                    self._rating(
                        stage=stage, sequence=2, grade=grade, channel=ch, rated_at=at, context=cm.FOLLOWUP, **bound
                    )
        applicant_kind = 2 if item.enterprise and rnd() < item.enterprise else 1
        name_enc = phone_enc = phone_hash = ""
        if sms_phone or rnd() < 0.03:
            name_enc, phone_enc, phone_hash = self.adapters.person(int(rnd() * self.adapters.people))
        dt = self.adapters.dt
        accepted_at = dt(accepted)
        completed_at = dt(completed) if done else None
        self.cases.append(
            (
                case_id,
                f"{self.region_codes[region_id]}{day_str}{case_id:08d}",
                item.id,
                unit.id,
                region_id,
                hall_id,
                window_id,
                staff_id,
                "complete" if done else "accept",
                3 if done else 2,
                not onsite,
                applicant_kind,
                name_enc,
                phone_enc,
                phone_hash,
                accepted_at,
                completed_at,
                accepted_at,
                completed_at or accepted_at,
            )
        )
        self.stats["cases"] += 1

    def _noncase(self, day_ts: int, weekend: bool) -> None:
        rng = self.rng
        rnd = rng.random
        kind = NONCASE_KINDS[bisect(NONCASE_CUM, rnd() * NONCASE_CUM[-1])]
        if kind == "window":
            w = self.windows[bisect(self.window_cum, rnd() * self.window_cum[-1])]
            staff_id = w.staff[int(rnd() * len(w.staff))] if w.staff and rnd() < 0.6 else None
            target = "staff" if staff_id is not None and rnd() < 0.4 else "window"
            ch = self._pick(MIX_COUNTER_PERFECT if w.unit.perfect else MIX_WALK_IN)
            if self.offer_rng.random() < 0.12:  # someone walked away while the evaluator asked
                at = day_ts + 32400 + int(self.offer_rng.random() * 28800)  # 9:00–17:00; own stream, as above
                self._offer("hall_tablet", at, w.unit.id, w.hall_region_id, None, "", w.id, staff_id)
            self._rating(
                target=target,
                unit=w.unit,
                region_id=w.hall_region_id,
                channel=ch,
                rated_at=self._onsite_time(day_ts, weekend),
                context=cm.ONSITE,
                hall_id=w.hall_id,
                window_id=w.id,
                staff_id=staff_id,
            )
        elif kind == "platform":
            p_id, p_kind, p_name, unit, region_id = self.platforms[
                bisect(self.platform_cum, rnd() * self.platform_cum[-1])
            ]
            if p_kind == "hotline":
                ch, context = "phone", cm.HOTLINE
            else:
                ch = PLATFORM_CHANNEL[p_kind]
                context = cm.TERMINAL if p_kind == "terminal" else cm.ONLINE
            grade = self._grade(self.platform_profile, None)
            self._rating(
                target="platform",
                unit=unit,
                region_id=region_id,
                channel=ch,
                rated_at=self._online_time(day_ts),
                context=context,
                grade=grade,
                platform_id=p_id,
                platform_name=p_name,
                bias=self.platform_profile.bias,
            )
        elif kind == "item":
            item = self.online_items[bisect(self.online_cum, rnd() * self.online_cum[-1])]
            ch = self._pick(MIX_ITEM)
            self._rating(
                target="item",
                unit=item.unit,
                region_id=item.unit.region_id,
                channel=ch,
                rated_at=self._online_time(day_ts) if ch != "qr" else self._onsite_time(day_ts, weekend),
                context=CONTEXT_OF_CHANNEL[ch],
                item=item,
                enterprise=item.enterprise,
            )
        elif kind == "hall":
            hall_id, unit, region_id = self.halls[bisect(self.hall_cum, rnd() * self.hall_cum[-1])]
            self._rating(
                target="hall",
                unit=unit,
                region_id=region_id,
                channel=self._pick(MIX_HALL),
                rated_at=self._onsite_time(day_ts, weekend),
                context=cm.ONSITE,
                hall_id=hall_id,
                bias={"environment": 6, "guidance": 4, "waiting": 3},
            )
        else:
            unit, _ = self.unit_list[bisect(self.unit_cum, rnd() * self.unit_cum[-1])]
            ch = self._pick(MIX_UNIT)
            self._rating(
                target="unit",
                unit=unit,
                region_id=unit.region_id,
                channel=ch,
                rated_at=self._online_time(day_ts),
                context=CONTEXT_OF_CHANNEL[ch],
            )

    # -- the stream --------------------------------------------------------------------------------

    def days(self) -> list[tuple[int, str, bool, float]]:
        """(local midnight as epoch seconds, YYYYMMDD, is weekend, volume weight) for each day of the span."""
        tz = self.end.tzinfo
        last = self.end.date()
        out = []
        for back in range(DAYS, 0, -1):
            day = last - timedelta(days=back)
            weight = WEEKDAY_WEIGHT[day.weekday()] * (0.8 + 0.4 * (DAYS - back) / DAYS)
            if _is_holiday(day):
                weight = 0.08
            start = int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
            out.append((start, day.strftime("%Y%m%d"), day.weekday() >= 5, weight))
        return out

    def __iter__(self) -> Iterator[Chunk]:
        days = self.days()
        total_weight = sum(d[3] for d in days)
        stats = self.stats
        cumulative = 0.0
        for day_ts, day_str, weekend, weight in days:
            cumulative += weight
            quota = round(self.target * cumulative / total_weight)
            while stats["ratings"] < quota:
                if stats["case_bound"] <= 0.7 * stats["ratings"]:
                    before = stats["ratings"]
                    self._case(day_ts, day_str, weekend)
                    stats["case_bound"] += stats["ratings"] - before
                else:
                    self._noncase(day_ts, weekend)
            if len(self.ratings) >= self.chunk_size:
                yield self._flush()
        if self.cases or self.ratings:
            yield self._flush()

    def _flush(self) -> Chunk:
        chunk = Chunk(self.cases, self.ratings, self.offers)
        self.cases, self.ratings, self.offers = [], [], []
        return chunk
