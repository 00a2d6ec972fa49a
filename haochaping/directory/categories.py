"""部门类别: the kind of department a unit is (公安, 人社, 市场监管 …), the same in every region.

Complaints that arrive without a named unit (hotline, public form) are routed by category first (insight/routing.py),
then to the unit of that category in the complainant's region. A unit's own ``category`` wins; a blank one is
derived from its name by the keyword table below, so an imported directory works without filling the column.
"""

from __future__ import annotations

from collections.abc import Iterable

# (category, name keywords), most specific first: 不动产登记 before 自然资源, 住房公积金 before 住房和城乡建设.
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("政务服务管理", ("政务服务管理", "政务服务中心", "行政审批服务", "数据资源管理", "大数据发展")),
    ("不动产登记", ("不动产",)),
    ("住房公积金", ("公积金",)),
    ("公安", ("公安", "派出所", "车辆管理所", "出入境管理")),
    ("市场监管", ("市场监督管理", "市场监管")),
    ("人社", ("人力资源和社会保障", "人力社保", "人社", "社会保险", "社保")),
    ("医保", ("医疗保障", "医保")),
    ("税务", ("税务",)),
    ("自然资源", ("自然资源", "规划")),
    ("住建", ("住房和城乡建设", "住房城乡建设", "住建", "建设局")),
    ("民政", ("民政",)),
    ("卫生健康", ("卫生健康", "卫健", "卫生")),
    ("交通运输", ("交通运输", "交通局")),
    ("教育", ("教育",)),
    ("司法", ("司法", "公证")),
    ("生态环境", ("生态环境", "环境保护")),
    ("农业农村", ("农业农村", "农业")),
    ("文化旅游", ("文化", "旅游", "广电")),
    ("商务", ("商务",)),
    ("应急管理", ("应急管理",)),
    ("退役军人", ("退役军人",)),
    ("水利", ("水利",)),
    ("城市管理", ("城市管理", "综合行政执法", "城管")),
    ("发展改革", ("发展和改革", "发展改革", "发改")),
    ("经济信息化", ("经济和信息化", "经信")),
    ("科技", ("科学技术", "科技局")),
    ("消防", ("消防",)),
    ("烟草专卖", ("烟草",)),
    ("残联", ("残疾人联合会", "残联")),
    ("档案", ("档案",)),
    ("供电", ("供电", "电力")),
    ("供水", ("自来水", "水务集团", "供水")),
    ("燃气", ("燃气",)),
    ("通信", ("电信", "移动通信", "联通")),
)

OTHER = "其他"


def category_from_name(name: str) -> str:
    """The category a unit's name suggests, or 其他 when no keyword matches."""
    for category, keywords in CATEGORY_KEYWORDS:
        if any(k in name for k in keywords):
            return category
    return OTHER


def unit_category(unit) -> str:
    """A unit's category: its own field when filled, else derived from its name."""
    return (getattr(unit, "category", "") or "").strip() or category_from_name(unit.name)


def known_categories(extra: Iterable[str] = ()) -> list[str]:
    """Every category of the keyword table plus those given (the ones in use in the directory), in table order."""
    names = [c for c, _ in CATEGORY_KEYWORDS]
    return names + sorted(set(extra) - set(names) - {OTHER}) + [OTHER]
