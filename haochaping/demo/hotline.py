"""12345 热线-style work orders (工单) per department category, for the demo and the routing tests.

The texts are generated: colloquial, sometimes misspelled, often without the department's name, and many share
the same complaint about queues, attitude or runarounds, so only the item or situation tells the category. Real
12345 work orders are longer and messier; a router trained here scores differently on them.
"""

from __future__ import annotations

import random

# Slots per category: 事项 / things people ask about, places, and the department's names (used by some templates).
_SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "公安": {
        "item": (
            "身份证",
            "户口迁移",
            "居住证",
            "护照",
            "港澳通行证",
            "驾驶证换证",
            "机动车上牌",
            "无犯罪记录证明",
            "新生儿落户",
            "临时身份证",
            "车辆年检",
            "违章处理",
        ),  # fmt: skip
        "place": ("派出所", "户籍窗口", "车管所", "出入境大厅", "交警队"),
        "dept": ("公安局", "派出所", "车管所", "出入境管理"),
    },
    "人社": {
        "item": (
            "社保卡",
            "养老保险",
            "失业金",
            "退休审批",
            "工伤认定",
            "灵活就业参保",
            "社保转移",
            "就业登记",
            "技能补贴",
            "拖欠工资",
            "劳动仲裁",
            "养老金资格认证",
        ),  # fmt: skip
        "place": ("社保窗口", "人社大厅", "劳动监察大队", "社保中心"),
        "dept": ("人社局", "社保局", "人力资源和社会保障局"),
    },
    "医保": {
        "item": (
            "医保报销",
            "异地就医备案",
            "医保卡",
            "门诊慢特病",
            "医保个人账户",
            "居民医保缴费",
            "生育津贴",
            "医保转移接续",
            "大病保险",
            "医保电子凭证",
        ),  # fmt: skip
        "place": ("医保窗口", "医保服务大厅", "定点药店", "医院收费处"),
        "dept": ("医保局", "医疗保障局"),
    },
    "市场监管": {
        "item": (
            "营业执照",
            "食品经营许可",
            "个体户注册",
            "公司注销",
            "商标",
            "过期食品",
            "缺斤少两",
            "虚假宣传",
            "预付卡退费",
            "价格欺诈",
            "药店卖假药",
            "经营范围变更",
        ),  # fmt: skip
        "place": ("超市", "菜市场", "奶茶店", "健身房", "理发店", "网店", "注册窗口"),
        "dept": ("市场监管局", "市场监督管理局", "工商"),
    },
    "税务": {
        "item": (
            "发票",
            "个税汇算",
            "增值税申报",
            "退税",
            "税务登记",
            "契税",
            "电子税务局",
            "税控盘",
            "完税证明",
            "个税APP",
            "社保费缴纳",
            "印花税",
        ),  # fmt: skip
        "place": ("办税服务厅", "税务窗口", "自助办税机"),
        "dept": ("税务局", "税务分局"),
    },
    "不动产登记": {
        "item": (
            "不动产权证",
            "房产证",
            "过户",
            "抵押登记",
            "抵押注销",
            "查档",
            "产权证加名",
            "继承过户",
            "首次登记",
            "预告登记",
        ),  # fmt: skip
        "place": ("不动产登记中心", "登记窗口", "交易大厅"),
        "dept": ("不动产登记中心", "不动产登记局"),
    },
    "住房公积金": {
        "item": (
            "公积金提取",
            "公积金贷款",
            "公积金转移",
            "公积金缴存",
            "公积金销户",
            "租房提取",
            "公积金账户",
            "公积金冲还贷",
        ),  # fmt: skip
        "place": ("公积金中心", "公积金窗口", "公积金网厅"),
        "dept": ("公积金中心", "住房公积金管理中心"),
    },
    "住建": {
        "item": (
            "物业",
            "烂尾楼",
            "商品房交房",
            "房屋漏水",
            "电梯维修基金",
            "老旧小区改造",
            "施工噪音",
            "夜间施工",
            "建筑工地扬尘",
            "廉租房",
            "公租房申请",
            "开发商延期交房",
        ),  # fmt: skip
        "place": ("小区", "工地", "楼盘", "售楼处"),
        "dept": ("住建局", "住房和城乡建设局", "房管局"),
    },
    "民政": {
        "item": (
            "低保",
            "结婚登记",
            "离婚登记",
            "特困供养",
            "临时救助",
            "高龄补贴",
            "养老院",
            "残疾人两项补贴",
            "婚姻登记预约",
            "殡葬",
            "社会组织登记",
        ),  # fmt: skip
        "place": ("婚姻登记处", "民政窗口", "养老院", "社区"),
        "dept": ("民政局",),
    },
    "交通运输": {
        "item": (
            "公交车",
            "出租车",
            "网约车",
            "道路运输证",
            "公交线路",
            "公交站牌",
            "客运班车",
            "出租车拒载",
            "网约车绕路",
            "从业资格证",
            "公路坑洼",
        ),  # fmt: skip
        "place": ("公交站", "汽车站", "客运站", "高速路口", "运管窗口"),
        "dept": ("交通运输局", "交通局", "运管所"),
    },
    "卫生健康": {
        "item": (
            "出生医学证明",
            "疫苗接种",
            "医院挂号",
            "医生态度",
            "医疗纠纷",
            "计生证明",
            "母婴保健",
            "健康证",
            "核酸报告",
            "诊所乱收费",
            "卫生许可证",
        ),  # fmt: skip
        "place": ("医院", "社区卫生服务中心", "卫生院", "诊所", "妇幼保健院"),
        "dept": ("卫健委", "卫生健康局", "卫生局"),
    },
    "教育": {
        "item": (
            "入学报名",
            "学位",
            "学区划分",
            "转学",
            "课外培训",
            "学校收费",
            "校车",
            "学籍",
            "幼儿园入园",
            "教师体罚",
            "补课",
            "中考加分",
        ),  # fmt: skip
        "place": ("学校", "幼儿园", "培训机构", "小学", "初中"),
        "dept": ("教育局", "教体局"),
    },
    "城市管理": {
        "item": (
            "占道经营",
            "乱停车",
            "垃圾清运",
            "路灯不亮",
            "井盖缺失",
            "违章搭建",
            "广告牌",
            "烧烤油烟",
            "流动摊贩",
            "绿化带",
            "垃圾分类",
        ),  # fmt: skip
        "place": ("路边", "小区门口", "夜市", "人行道", "菜场门口"),
        "dept": ("城管", "城市管理局", "综合行政执法局"),
    },
    "供电": {
        "item": (
            "停电",
            "电费",
            "电表",
            "电压不稳",
            "跳闸",
            "新装电表",
            "充电桩报装",
            "电线老化",
            "阶梯电价",
            "光伏并网",
        ),  # fmt: skip
        "place": ("小区", "村里", "营业厅", "家里"),
        "dept": ("供电公司", "电力公司", "国家电网"),
    },
    "供水": {
        "item": (
            "停水",
            "水费",
            "水表",
            "水压小",
            "自来水发黄",
            "水管爆裂",
            "新装水表",
            "二次供水",
            "水质浑浊",
            "户表改造",
        ),  # fmt: skip
        "place": ("小区", "家里", "营业厅", "楼道"),
        "dept": ("自来水公司", "水务集团", "供水公司"),
    },
}

# Templates of each category: the situation says which department, with or without its name ({dept}).
_OWN: dict[str, tuple[str, ...]] = {
    "公安": (
        "去{place}办{item}，说要开什么证明，我跑了三趟还没办下来",
        "孩子出生{dur}了还上不了户口，{place}说材料不全",
        "{item}到期了想换，网上预约一直约不上，{dept}能不能多开几个号",
        "昨晚小区有人打架报了警，警察一个多小时才来",
        "我的{item}丢了去补办，窗口让我回老家开证明，太折腾",
        "车被贴了罚单但我根本没停那里，要求核实{item}",
        "在{place}排队{dur}，就开了一个窗口",
        "电动车被偷了报案{dur}没人管",
    ),
    "人社": (
        "公司拖欠工资{dur}了，老板跑路，找谁要钱",
        "{item}一直没到账，打{dept}电话没人接",
        "我{item}的材料交上去{dur}了还没审批下来",
        "退休了想领养老金，说缴费年限算的不对",
        "{place}的人说{item}要本人到场，我在外地打工回不来",
        "社保断缴了{dur}怎么补，窗口说不清楚",
        "单位不给交五险，去{dept}投诉也没下文",
        "工地上受伤了，老板不认，{item}怎么办",
    ),
    "医保": (
        "住院花了好几万，{item}只报了一点点，比例不对吧",
        "在外地住院，{item}网上办不了，一直提示失败",
        "孩子的{item}交了钱查不到记录",
        "药店刷{item}说不能用了，不知道啥原因",
        "{place}说我这个病不在报销目录，{dept}能不能给个说法",
        "我办的{item}{dur}了还没批，老人等着用药",
        "医保账户里的钱被扣了，不知道扣到哪去了",
    ),
    "市场监管": (
        "在{place}买到{item}，老板不给退",
        "{place}办了卡交了三千，现在关门跑路了，要求退费",
        "{place}明码标价一套，结账又是一个价，{item}",
        "办{item}网上提交{dur}了还是审核中",
        "{place}卖的东西吃了拉肚子，怀疑{item}",
        "想注销公司，{item}流程太复杂，跑了好几趟",
        "网上买的东西是假货，商家不认，找{dept}",
        "外卖里吃出虫子，商家态度恶劣",
    ),
    "税务": (
        "开{item}开不出来，{place}说系统升级",
        "{item}申请了{dur}还没退回来",
        "个体户{item}不会弄，打电话一直占线",
        "{place}排了{dur}的队，就为打印一张{item}",
        "买房交{item}，窗口让我去另一个大厅",
        "公司被认定为非正常户，{dept}也不说为什么",
        "{item}登不上去，一直验证码错误",
    ),
    "不动产登记": (
        "买的二手房{item}办了{dur}还没拿到证",
        "房贷还清了去办{item}，{place}说要银行先来",
        "父母去世了办{item}，要一堆公证材料太难了",
        "{place}预约不上，每天放号几分钟就没了",
        "交房好几年了还办不了{item}，说开发商欠钱",
        "去{place}{item}，窗口说系统查不到我的房子",
    ),
    "住房公积金": (
        "{item}申请被驳回，说材料不对也不说哪里不对",
        "单位没给我交{item}，能不能帮忙催一下",
        "换了城市工作，{item}办了{dur}还没转过来",
        "买房想用{item}，银行说额度不够",
        "离职了想把公积金取出来，{place}说要满半年",
        "租房每个月都提取，这次突然不给提了",
    ),
    "住建": (
        "{place}旁边{item}，晚上十二点还在干活，吵得睡不着",
        "买的房子到期了不交房，{item}，找谁管",
        "{place}的物业乱收费，电梯坏了{dur}没人修",
        "新房{item}，开发商推来推去",
        "{place}的老房子墙体开裂，申请{item}没有回音",
        "工地的渣土车到处撒，{item}严重",
    ),
    "民政": (
        "家里老人申请{item}，审核了{dur}没消息",
        "{place}预约不到号，想{item}",
        "我们村有人家里条件很好还吃低保，不公平",
        "残疾人补贴这个月没发，问社区说不知道",
        "老人住{place}被工作人员骂，要求调查",
        "失业在家没收入，申请{item}被拒了",
    ),
    "交通运输": (
        "{item}司机开得太猛，还骂乘客",
        "{place}等了{dur}一辆车都没来",
        "打车被{item}，多收了好几十",
        "晚上叫车司机不打表，一口价要一百",
        "{place}附近的路全是坑，车胎都压爆了",
        "公交改线了也不通知，上班迟到",
        "办{item}，{dept}窗口说要回户籍地",
    ),
    "卫生健康": (
        "{place}的医生看病三分钟就打发了，态度极差",
        "去{place}开{item}，说要本人到场，孩子还在保温箱",
        "{place}乱收费，做个检查收了好几百",
        "带孩子打{item}，{place}说没货了等通知",
        "在{place}排了{dur}挂号，黄牛倒是有号",
        "{item}办了{dur}还拿不到",
    ),
    "教育": (
        "孩子{item}被分到很远的学校，家门口的学校不收",
        "{place}乱收费，让家长买指定的资料",
        "{place}的老师暗示家长去他那{item}",
        "办{item}一直被推来推去，开学了还没学上",
        "{place}放学太早，家长接不了",
        "{item}交了钱跑路了，退不了费",
        "老师体罚学生，孩子不敢去上学",
    ),
    "城市管理": (
        "{place}{item}太严重，晚上吵得睡不了",
        "{place}的垃圾{dur}没人清了，臭气熏天",
        "{place}的路灯坏了{dur}，晚上黑乎乎的",
        "{place}有人{item}，占了整条人行道",
        "楼下烧烤店油烟直接排到窗户里",
        "{place}的井盖没了，很危险，老人差点掉下去",
    ),
    "供电": (
        "{place}经常{item}，一个月停了好几次也不通知",
        "这个月{item}突然比平时多了一倍，怀疑电表有问题",
        "申请{item}{dur}了还没人来装",
        "家里{item}，空调一开就跳闸",
        "{place}停电{dur}了还没来电，冰箱里东西都坏了",
    ),
    "供水": (
        "{place}{item}，一点通知都没有，没法做饭",
        "{item}多收了，一个月用了好几十吨不可能",
        "{place}的水龙头出来都是{item}，还有味道",
        "楼道{item}，水淌了一地，打电话{dur}没人来",
        "高楼层{item}，洗澡都洗不了",
        "申请{item}交了钱{dur}没人来",
    ),
}

# Things several departments deal with (the caller names the thing, not who is in charge): a category's slots also
# draw from these, so the same words turn up under different labels, as in real work orders.
_OVERLAP: dict[str, tuple[str, ...]] = {
    "公安": ("违章停车", "噪音扰民", "出租车"),
    "人社": ("社保费", "医疗保险", "工资"),
    "医保": ("医院", "住院费用", "社保卡"),
    "市场监管": ("乱收费", "药店", "物业收费"),
    "税务": ("社保费", "房屋交易", "发票"),
    "不动产登记": ("房产证", "购房贷款", "房屋交易"),
    "住房公积金": ("购房贷款", "房贷", "单位缴费"),
    "住建": ("违章搭建", "房产证", "物业收费"),
    "民政": ("养老", "补贴", "社区"),
    "交通运输": ("违章停车", "道路", "噪音扰民"),
    "卫生健康": ("医院", "乱收费", "出生证明"),
    "教育": ("补贴", "乱收费", "噪音扰民"),
    "城市管理": ("违章搭建", "道路", "噪音扰民"),
    "供电": ("电费", "补贴", "物业收费"),
    "供水": ("物业收费", "停水", "道路"),
}
# Places any complaint may name.
_ANY_PLACE = ("政务服务中心", "大厅", "窗口", "那边", "服务中心", "办事大厅", "网上")

# Shared complaints: only the item or place tells the category.
_SHARED = (
    "{item}的问题一直没解决",
    "{item}，能不能给个说法",
    "咨询一下{item}怎么办",
    "{item}太慢了",
    "办{item}的时候窗口工作人员态度很差，一直玩手机",
    "{item}的事情打了好几次12345了，还是没解决",
    "去{place}办{item}，一次性告知都做不到，让我来回跑",
    "{item}网上说能办，到了{place}又说不能办",
    "关于{item}的问题，{dur}了还没人回复",
    "{place}中午休息不办{item}，上班族根本没时间",
    "反映{item}问题，要求尽快处理",
    "{dept}那边{item}，一直拖着不办",
    "{item}到底归谁管，{place}说不归他们",
    "{place}的{item}，排队{dur}，效率太低",
)
_DURATIONS = ("半个月", "两个月", "一个多月", "三天", "一个礼拜", "好几天", "半年", "两个小时", "一上午", "一年多")
_OPENERS = ("", "", "", "你好，", "您好，我想反映一下，", "市民来电反映：", "来电人称，", "我要投诉，", "请问一下，")
_CLOSERS = ("", "", "", "，希望尽快解决", "，请相关部门处理", "。太气人了！", "，到底有没有人管", "，谢谢", "？？")
# Misspellings people type (homophones and near shapes).
_TYPOS = {
    "办理": "半理", "社保": "设保", "公积金": "公基金", "户口": "户扣", "身份证": "身分证", "营业执照": "营业执找",
    "医保": "医宝", "报销": "报消", "发票": "发漂", "过户": "过护", "物业": "物叶", "低保": "底保", "停电": "停点",
    "水费": "水废", "驾驶证": "驾使证", "学校": "学较", "垃圾": "拉圾", "态度": "太度", "预约": "予约",
    "登记": "登计", "退费": "退废", "审批": "审判",
}  # fmt: skip

CATEGORIES: tuple[str, ...] = tuple(_OWN)


def _fill(rng: random.Random, template: str, slots: dict[str, tuple[str, ...]], category: str) -> str:
    item = rng.choice(_OVERLAP[category]) if rng.random() < 0.25 else rng.choice(slots["item"])
    return template.format(
        item=item,
        place=rng.choice(_ANY_PLACE) if rng.random() < 0.4 else rng.choice(slots["place"]),
        dept=rng.choice(slots["dept"]),
        dur=rng.choice(_DURATIONS),
    )


def _typos(rng: random.Random, text: str, rate: float) -> str:
    for right, wrong in _TYPOS.items():
        if right in text and rng.random() < rate:
            text = text.replace(right, wrong, 1)
    return text


def work_order(rng: random.Random, category: str, *, typo_rate: float = 0.15) -> str:
    """One 12345-style complaint text about a department of this category (KeyError for an unknown one)."""
    slots = _SLOTS[category]
    template = rng.choice(_OWN[category]) if rng.random() < 0.55 else rng.choice(_SHARED)
    text = _fill(rng, template, slots, category)
    if rng.random() < 0.25:  # a second sentence, as callers ramble
        text += "，" + _fill(rng, rng.choice(_OWN[category]), slots, category)
    text = rng.choice(_OPENERS) + text + rng.choice(_CLOSERS)
    return _typos(rng, text, typo_rate)


def department_names() -> list[str]:
    """Every department name the templates may use, longest first (to strip them for the harder test)."""
    names = {d for slots in _SLOTS.values() for d in slots["dept"]}
    return sorted(names, key=len, reverse=True)


def labelled_set(n_per_category: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """n texts per category, shuffled: (texts, labels)."""
    rng = random.Random(seed)
    pairs = [(work_order(rng, c), c) for c in CATEGORIES for _ in range(n_per_category)]
    rng.shuffle(pairs)
    return [t for t, _ in pairs], [c for _, c in pairs]
