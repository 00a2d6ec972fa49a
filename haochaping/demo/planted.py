"""Recurring problems planted in the demo's bad comments, so the comment mining (insight/) has something to find.

Each problem belongs to specific units or one hall and comes in several wording variants (one with a typo, as
real raters write), the way the same complaint reads when many different people make it. Over the whole 13
months a share of the bad ratings (差评) of those units gets one of the variants instead of its generated
comment. The draws come from their own random stream, so grades, counts, tags and every other comment are
exactly what they would be without the planted problems.

``plan_problems(plan)`` says which problems, units and halls a demo province gets (tests and the demo summary
read it); ``Planter`` is what the generator asks, rating by rating.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

from haochaping.demo import catalogue as cat

# Variants per problem: different words for the same trouble, one with a typo (marked).
VARIANTS: dict[str, tuple[str, ...]] = {
    "queue_machine": (
        "叫号机又坏了，拿不到号只能干等",
        "大厅叫号机老是坏，叫号全乱了",
        "叫号机坏了，工作人员让自己排队，乱成一团",
        "叫号机坏了好几天了也没人修，排队全靠喊",
        "叫号机不叫号，过号了都不知道",
        "叫号机故障，一直不出号",
        "交号机又坏了，拿不到号干等了一上午",  # typo: 交号 for 叫号
    ),
    "upload_fails": (
        "网上申请上传材料一直失败，提示系统繁忙",
        "材料上传失败，传到一半就报错，试了好几次",
        "不动产网上申请上传附件总是失败，只能跑现场",
        "上传扫描件一直转圈，最后提示上传失败",
        "系统上传材料失败，客服说是系统问题让等等",
        "网上登记材料上传不了，页面一直报错失败",
        "上传材料一只失败，提示文件格式不对，明明是pdf",  # typo: 一只 for 一直
    ),
    "repeat_proof": (
        "让我反复开无犯罪记录证明，开了证明回来又说要原件",
        "反复要求开证明，上次交过的证明这次又要",
        "每次来都让回去开证明，反复折腾",
        "反复开证明，开了居住证明又要无犯罪证明，没完没了",
        "系统里能查到还要我去开证明，反复跑",
        "证明材料反复要，开证明跑断腿",
        "又让我回去开正明，说上次开的证明过期了",  # typo: 正明 for 证明
    ),
    "parking": (
        "中心门口没地方停车，转了半小时找不到停车位",
        "停车太难了，停车场永远是满的",
        "大厅停车位太少，停在路边还被贴了罚单",
        "来办事停车位根本不够，只能停很远走过来",
        "停车场满了，保安让我们自己找地方停车",
        "办事中心停车难的问题什么时候解决",
        "停车位太少了，挺车都要排队",  # typo: 挺车 for 停车
    ),
}


def _normal(text: str) -> str:
    """As the comment index stores text: NFKC (full-width punctuation half-width), lower case."""
    return unicodedata.normalize("NFKC", text).lower()


LABELS = {
    "queue_machine": "叫号机故障",
    "upload_fails": "网上申请上传材料失败",
    "repeat_proof": "反复要求开证明",
    "parking": "停车难",
}


@dataclass
class PlantedProblem:
    key: str
    label: str
    units: list[str]  # USCCs whose bad ratings carry it (for a hall: the units with windows there)
    hall: str = ""  # hall code: only ratings given at this hall
    online: bool = False  # only ratings given away from any hall (online, SMS, phone)
    share: float = 0.5  # share of the matching bad comments replaced
    variants: tuple[str, ...] = ()
    unit_names: list[str] = field(default_factory=list)
    place: str = ""  # a county or city name, for the demo summary

    def matches(self, text: str) -> bool:
        """Whether ``text`` (a stored comment, normalised or not) is one of this problem's variants."""
        text = _normal(text)
        return any(_normal(v) in text for v in self.variants)


def plan_problems(plan) -> list[PlantedProblem]:
    """The planted problems of a demo province (a pure function of the directory plan)."""
    regions = {r.code: r for r in plan.regions}
    halls = {h.code: h for h in plan.halls}
    units = {u.uscc: u for u in plan.units}
    windowed: dict[str, set[str]] = {}
    for w in plan.windows:
        windowed.setdefault(w.hall, set()).add(w.unit)

    def busy(u) -> float:
        return regions[u.region].factor * u.weight

    worse = [units[u] for u in plan.worse_units]
    counties = [r for r in plan.regions if r.level == 3]
    city = next(r for r in plan.regions if r.level == 2)
    problems: list[PlantedProblem] = []

    # 1. A county centre's queue-number machine: the county of the first worse unit (its hall is busy with bad ratings).
    county = regions[worse[0].region] if worse else max(counties, key=lambda r: r.factor)
    hall = f"H{county.code}"
    problems.append(
        PlantedProblem(
            "queue_machine",
            LABELS["queue_machine"],
            sorted(windowed.get(hall, ())),
            hall=hall,
            share=0.45,
            place=county.name,
        )  # fmt: skip
    )
    # 2. The first city's 不动产登记 online application (its centre and the county branches under it); people
    #    complain about it online and at the counter they end up at.
    upload = [u.uscc for u in plan.units if u.dept == "budongchan" and (u.region == city.code or
              regions[u.region].parent == city.code)]  # fmt: skip
    problems.append(PlantedProblem("upload_fails", LABELS["upload_fails"], upload, share=0.6, place=city.name))
    # 3. A county unit that asks for proof after proof: a worse 公安 unit if there is one, else another worse unit
    #    (not 不动产, which has problem 2, nor in problem 1's county), else the busiest county 公安.
    elsewhere = [u for u in worse if u.region != county.code and u.dept != "budongchan"]
    pick = next((u for u in elsewhere if u.dept == "gongan"), None) or max(elsewhere, key=busy, default=None)
    if pick is None:
        pick = max(
            (u for u in plan.units if u.dept == "gongan" and u.region != county.code and regions[u.region].level == 3),
            key=busy,
        )
    problems.append(
        PlantedProblem("repeat_proof", LABELS["repeat_proof"], [pick.uscc], share=0.7, place=regions[pick.region].name)
    )
    # 4. The first city's own centre: not enough parking.
    city_hall = f"H{city.code}"
    problems.append(
        PlantedProblem(
            "parking",
            LABELS["parking"],
            sorted(windowed.get(city_hall, ())),
            hall=city_hall,
            share=0.6,
            place=city.name,
        )  # fmt: skip
    )
    for p in problems:
        p.variants = VARIANTS[p.key]
        p.unit_names = [units[u].name for u in p.units]
        assert not p.hall or p.hall in halls
    return problems


class Planter:
    """Decides, rating by rating, whether a bad comment is replaced by a planted variant (own random stream)."""

    def __init__(self, problems: list[PlantedProblem], ids, seed: int) -> None:
        self.rng = random.Random(f"haochaping-demo-planted-{seed}")
        self.by_hall: dict[int, PlantedProblem] = {}
        self.by_unit: dict[int, PlantedProblem] = {}
        self.online_by_unit: dict[int, PlantedProblem] = {}
        for p in problems:
            if p.hall:
                self.by_hall[ids.halls[p.hall]] = p
            elif p.online:
                self.online_by_unit.update((ids.units[u], p) for u in p.units)
            else:
                self.by_unit.update((ids.units[u], p) for u in p.units)
        self.planted: dict[str, int] = {p.key: 0 for p in problems}

    def comment(self, unit_id: int, hall_id: int | None, comment: str) -> str:
        """The comment a bad rating keeps: its own, or a planted variant (maybe with an ending)."""
        if hall_id is not None:
            problem = self.by_hall.get(hall_id) or self.by_unit.get(unit_id)
        else:
            problem = self.online_by_unit.get(unit_id) or self.by_unit.get(unit_id)
        if problem is None or self.rng.random() >= problem.share:
            return comment
        self.planted[problem.key] += 1
        text = self.rng.choice(problem.variants)
        return text + self.rng.choice(("", "", "。", "！", "，希望尽快解决", "，请领导管一管"))


# The departments the problems above name, so a catalogue change that drops one fails loudly in the tests.
NAMED_DEPARTMENTS = ("budongchan", "gongan")
assert all(k in cat.DEPT_BY_KEY for k in NAMED_DEPARTMENTS)
