"""Comment (文字评价) templates of the demo: per grade band, per context and per topic, written like real ones.

Raters write short and colloquial when happy and long and specific when not, so bad comments combine a
complaint with a second grievance and a demand. A small share carries a typical typo (以经, 因该 …).
Everything is drawn from the caller's ``random.Random``, so comments are deterministic for a seed.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

GOOD, NEUTRAL, BAD = "good", "neutral", "bad"

# Contexts: where and how the rating was given.
ONSITE, ONLINE, HOTLINE, TERMINAL, SMS, PHONE, FOLLOWUP = (
    "onsite",
    "online",
    "hotline",
    "terminal",
    "sms",
    "phone",
    "followup",
)

# Topic weights per context and band: what people write about.
TOPIC_WEIGHTS: dict[str, dict[str, dict[str, float]]] = {
    ONSITE: {
        GOOD: {
            "attitude": 5,
            "efficiency": 4,
            "waiting": 2,
            "skill": 2,
            "notify": 2,
            "trips": 2,
            "materials": 1,
            "guidance": 1,
            "environment": 1,
        },
        NEUTRAL: {"waiting": 4, "materials": 2, "skill": 1, "attitude": 1, "guidance": 2, "environment": 1, "trips": 1},
        BAD: {
            "waiting": 5,
            "attitude": 4,
            "notify": 4,
            "trips": 3,
            "materials": 2,
            "skill": 2,
            "efficiency": 2,
            "guidance": 1,
            "environment": 1,
        },
    },
    ONLINE: {
        GOOD: {"system": 4, "efficiency": 4, "trips": 3, "guidance": 2, "materials": 2, "service": 1},
        NEUTRAL: {"system": 4, "efficiency": 3, "guidance": 2, "materials": 1},
        BAD: {"system": 5, "efficiency": 4, "guidance": 3, "materials": 2, "trips": 2, "service": 2},
    },
}

# Which tag (default tag set v1, migration ratings/0002) fits a topic, per band; None: no fitting tag.
TOPIC_TAGS: dict[str, dict[str, tuple[str | None, str | None, str | None]]] = {
    "onsite": {
        "waiting": ("OS01", "OS05", "OS11"),
        "efficiency": ("OS01", "OS05", "OS11"),
        "attitude": ("OS03", None, "OS13"),
        "skill": ("OS02", "OS06", "OS12"),
        "notify": ("OS04", "OS06", "OS14"),
        "materials": ("OS04", "OS06", "OS14"),
        "trips": ("OS04", None, "OS14"),
        "guidance": ("OS04", "OS06", "OS14"),
        "environment": (None, None, None),
    },
    "online": {
        "system": ("ON04", "ON06", "ON14"),
        "efficiency": ("ON01", "ON05", "ON11"),
        "guidance": ("ON02", None, "ON12"),
        "materials": ("ON03", None, "ON13"),
        "trips": ("ON03", None, "ON13"),
        "service": ("ON01", None, "ON11"),
    },
}

T: dict[tuple[str, str], dict[str, list[str]]] = {
    (GOOD, ONSITE): {
        "waiting": [
            "基本没怎么排队，取号后{wait_min}分钟就轮到了",
            "提前在网上预约了，到了直接办，不用等",
            "今天人不多，很快就办好了",
            "虽然人多但是叫号很快，没等多久",
            "中午也有人值班，不用专门请假来办",
        ],
        "attitude": [
            "工作人员态度很好，很耐心",
            "{staff_ref}特别有耐心，老人家问了好几遍也没有不耐烦",
            "窗口的工作人员很热情，讲得很细",
            "服务态度好，说话客客气气的",
            "小姑娘人很好，还帮我把材料复印了",
            "{window_no}号窗口的{staff_ref}服务特别好，一直微笑服务",
            "工作人员很贴心，看我抱着孩子还让我先坐下",
        ],
        "skill": [
            "工作人员业务很熟练，几分钟就弄好了",
            "业务很专业，问什么都能答上来",
            "遇到特殊情况工作人员马上就给出了解决办法",
        ],
        "notify": [
            "一次性把要带的材料都讲清楚了，不用再跑",
            "工作人员把流程一次讲明白了，还给了一张材料清单",
            "缺的材料当场告诉我可以容缺后补，很人性化",
        ],
        "materials": [
            "材料比以前少多了，带身份证就能办",
            "现在很多证明不用自己开了，系统里直接调取，方便",
            "不用再交复印件了，省事",
        ],
        "trips": [
            "一次就办好了，不用来回跑",
            "最多跑一次名不虚传",
            "原来要跑好几个部门，现在一个窗口全搞定",
            "{item}和相关手续一起办了，少跑了好几趟",
        ],
        "efficiency": [
            "办事效率高，{item}当场就拿到了",
            "比想象中快多了，十几分钟就办完了",
            "效率很高，前后不到半小时",
            "{item}办得很顺利，速度快",
        ],
        "guidance": [
            "门口导办员很热心，直接带我到窗口",
            "指引很清楚，进门就知道去哪个窗口",
            "导办员帮忙在自助机上预填了表格，节省了不少时间",
        ],
        "environment": [
            "大厅环境干净整洁，有饮水机和座椅",
            "大厅有母婴室，还有老年人专座，很贴心",
            "停车方便，大厅也很亮堂",
        ],
    },
    (GOOD, ONLINE): {
        "system": [
            "网上办理很方便，在家就搞定了",
            "手机上点几下就提交了，很方便",
            "系统操作简单，页面也清楚",
            "{platform}很好用，不用跑大厅了",
            "刷脸认证一次就过了，流程很顺",
        ],
        "efficiency": [
            "提交后第二天就审核通过了",
            "{days}天就办结了，比承诺时间还快",
            "办理速度快，短信通知也很及时",
            "进度随时能查，心里有底",
        ],
        "guidance": [
            "办事指南写得很清楚，照着填就行",
            "指南里材料要求写得很明白，一次就通过了",
            "有填写示例，照着弄不会错",
        ],
        "materials": [
            "材料可以直接拍照上传，不用跑打印店",
            "很多信息系统自动带出来，不用重复填",
            "电子证照直接调用，不用再上传身份证了",
        ],
        "trips": ["全程网办，一次都没跑", "零跑腿，点赞", "证件直接邮寄到家，太方便了"],
        "service": ["在线客服回复很及时", "打电话咨询，客服讲得很清楚", "审核人员打电话来指导我修改，很负责"],
    },
    (NEUTRAL, ONSITE): {
        "waiting": [
            "还行，就是等的时间有点长",
            "整体还可以，排队{wait_min}分钟左右",
            "一般吧，中午窗口人少，等了一会",
            "上午人太多了，下午来的话应该会快点",
        ],
        "materials": ["材料还是有点多，希望能再精简一些", "第二次来才办好，第一次少带了一份材料"],
        "skill": ["办是办好了，不过流程有点复杂", "工作人员也不太确定，问了领导才给办"],
        "attitude": ["工作人员态度还可以，就是说话有点快没听清", "服务一般，没什么特别的"],
        "guidance": ["问了两个窗口才知道要去哪里", "大厅有点难找，指示牌不太明显"],
        "environment": ["大厅有点吵，停车也不方便", "座位有点少"],
        "trips": ["跑了两趟，还算可以接受"],
    },
    (NEUTRAL, ONLINE): {
        "system": [
            "系统有点慢，不过最后提交成功了",
            "页面有些地方看不太懂，摸索了一会",
            "上传材料的时候老是提示格式不对，改了几次才行",
            "还可以吧，手机端有些功能找不到",
        ],
        "efficiency": ["审核时间有点长，等了{days}天", "整体还行，希望进度查询能更及时"],
        "guidance": ["办事指南有些地方写得太笼统了", "填表说明不太清楚，打电话问了才知道"],
        "materials": ["要上传的材料有点多"],
    },
    (BAD, ONSITE): {
        "waiting": [
            "排队{hours}个多小时，窗口只开了{open_n}个",
            "早上八点多就来取号，快十一点了才轮到",
            "等了一上午，叫号系统还坏了，大家都在干等",
            "人那么多，只开{open_n}个窗口，其他窗口的人在聊天",
            "取号{wait_min}分钟了还没叫到，问了说系统慢",
            "下午四点就不给取号了，白跑一趟",
            "请了半天假过来，光排队就排了{hours}个小时",
        ],
        "attitude": [
            "工作人员态度很差，问两句就不耐烦",
            "{window_no}号窗口的工作人员一直在玩手机，叫了几次才理人",
            "说话很冲，好像我们欠他的一样",
            "老人听不清多问了一句，直接被凶了",
            "态度冷漠，材料往外一推就说不行，也不说哪里不行",
            "中午十一点半就说下班了，让下午再来",
            "工作人员边办边跟同事聊天，还把我的信息填错了",
        ],
        "notify": [
            "材料要求前后说的不一样，跑了{trips}趟",
            "第一次来说缺一个证明，第二次来又说缺另一个，不能一次说清楚吗",
            "没有一次性告知，来回折腾了好几次",
            "电话里说带身份证就行，来了又要户口本",
            "网上查的材料清单和窗口要的不一样",
        ],
        "materials": [
            "要的材料太多了，有些明明系统里能查到还要我们自己去开证明",
            "复印件要了一遍又一遍，同样的材料交了三次",
            "非要我回老家开证明，几百公里跑一趟",
            "一个签字不清楚就要重新填，表格又不给样本",
        ],
        "trips": [
            "为了{item}跑了{trips}趟还没办下来",
            "这个部门让去那个部门，那个部门又让回来，踢皮球",
            "说好的最多跑一次，结果跑了{trips}次",
            "办个{item}，来回跑了{trips}趟，请了{trips}次假",
        ],
        "skill": [
            "工作人员业务不熟，问什么都要去问别人",
            "新来的工作人员不会操作，弄了半个小时还出错了",
            "同一个问题问了两个窗口，回答完全不一样",
        ],
        "efficiency": [
            "办个{item}要等{days}个工作日，太慢了",
            "效率太低，一个人办了四十分钟",
            "系统一直卡，工作人员也没办法，只能干等",
            "说好当场出证，结果让一周后再来拿",
        ],
        "guidance": [
            "导办台没人，不知道该去哪个窗口",
            "指示牌不清楚，在大厅里转了半天",
            "取错号了也没人提醒，排了半天说不是这个窗口",
        ],
        "environment": ["大厅空调坏了，热得要命", "座位太少，老人都站着等", "停车场满了，只能停路边被贴了罚单"],
    },
    (BAD, ONLINE): {
        "system": [
            "系统太卡了，提交了{n}次都失败",
            "网页老是崩溃，填了半天的东西全没了",
            "App登录不上，人脸识别一直失败",
            "上传附件一直转圈，根本传不上去",
            "小程序闪退好几次，最后还是跑去大厅办的",
            "晚上提交显示系统维护，白天又要上班，根本没法弄",
            "验证码一直收不到，换了两个手机号都不行",
        ],
        "efficiency": [
            "网上提交{days}天了还在审核中，也没人联系",
            "退回了两次，每次理由都不一样",
            "承诺{promise}个工作日办结，现在都超期了",
            "审核太慢了，催了也没用",
        ],
        "guidance": [
            "办事指南写的和实际要求不一样，被退回了",
            "指南里的材料清单是旧的，按着准备全白费",
            "网上说可以全程网办，结果最后还是要去现场交原件",
        ],
        "materials": ["同样的信息要重复填好几遍", "材料明明已经传过了，又让重新上传", "要求上传的证明根本不知道去哪开"],
        "trips": ["说是网上办，最后还得跑大厅{trips}趟", "网上办了一半，又让去窗口补材料"],
        "service": ["打12345反映了也没人回复", "在线客服一直是机器人回复，转不了人工", "咨询电话一直打不通"],
    },
}

HOTLINE_TEXT = {
    GOOD: [
        "12345热线接通很快，话务员态度好",
        "反映的问题第二天就有人联系了，效率很高",
        "热线工作人员很耐心，帮我转到了对口部门",
    ],
    NEUTRAL: ["电话等了好久才接通，问题倒是记下了", "答复有点模板化，不过也算解决了"],
    BAD: [
        "打了{trips}次才打通，每次都要等很久",
        "问题转了一圈又回到原点，没人真正管",
        "热线说会回复，到现在也没消息",
        "话务员答非所问，只会让我等通知",
    ],
}
TERMINAL_TEXT = {
    GOOD: ["自助机打印证明很方便，不用排队", "自助终端操作简单，几分钟就打好了", "晚上也能用自助机办，很方便"],
    NEUTRAL: ["自助机有点慢，刷了两次身份证才识别", "界面字太小，老人不太会用"],
    BAD: ["自助机经常故障，刷不了身份证", "自助机打印到一半卡纸了，旁边也没人管", "机器一直提示网络异常，白跑一趟"],
}
SMS_TEXT = {
    GOOD: ["满意", "很满意", "好", "非常满意，谢谢", "满意，办得很快", "1"],
    NEUTRAL: ["一般", "还行", "基本满意", "3"],
    BAD: ["不满意", "太慢了", "不满意，跑了好几趟", "很不满意", "不满意，材料反复要"],
}
PHONE_TEXT = {
    GOOD: [
        "电话回访：群众表示对办理结果满意",
        "电话回访：当事人表示工作人员服务热情，办理及时",
        "电话回访：企业表示办理过程顺利，无意见",
    ],
    NEUTRAL: ["电话回访：群众表示基本满意，认为办理时间偏长", "电话回访：当事人表示结果可以接受，建议简化材料"],
    BAD: [
        "电话回访：群众表示不满意，反映窗口排队时间过长",
        "电话回访：群众反映工作人员未一次性告知所需材料，多次往返",
        "电话回访：当事人反映工作人员态度生硬",
        "电话回访：企业反映网上申报系统经常卡顿，影响办理",
        "电话回访：群众反映办理超出承诺时限，无人说明原因",
    ],
}
FOLLOWUP_TEXT = {
    GOOD: [
        "追评：后来工作人员打电话回访了，问题已经解决，给个好评",
        "追评：第二次去办很顺利，工作人员还主动道歉了",
        "追评：反映的问题很快就整改了，窗口也加开了",
        "追评：证件已经拿到了，之前的问题也给了解释，满意",
    ],
    NEUTRAL: ["追评：问题算是解决了，但过程太长", "追评：有人回访了，说会改进，看后续吧"],
    BAD: [
        "追评：反映了问题到现在都没人联系",
        "追评：回访电话打来了，但问题还是没解决",
        "追评：说是整改了，这次去还是一样排长队",
    ],
}

SHORT = {
    GOOD: [
        "很好",
        "满意",
        "非常满意",
        "服务很好",
        "好评",
        "点赞",
        "方便快捷",
        "办事效率高",
        "挺好的",
        "不错不错",
        "给你们点个赞",
        "辛苦了",
        "服务周到",
        "很满意，谢谢",
        "好评！",
        "一切顺利",
        "越来越方便了",
        "没毛病",
        "非常好👍",
        "速度快，态度好",
    ],
    NEUTRAL: ["一般", "还行", "还可以", "凑合", "一般般", "中规中矩", "能办就行"],
    BAD: ["差评", "太慢了", "很不满意", "无语", "体验很差"],
}
PREFIX = {
    GOOD: [
        "今天来办{item}，",
        "帮家里老人办{item}，",
        "第一次来办{item}，",
        "公司派我来办{item}，",
        "上午来办{item}，",
    ],
    NEUTRAL: ["来办{item}，", "今天办{item}，"],
    BAD: ["今天来办{item}，", "帮父母办{item}，", "公司的{item}，", "为了办{item}，"],
}
PREFIX_ONLINE = {
    GOOD: ["网上申请{item}，", "在{platform}上办的{item}，"],
    NEUTRAL: ["网上办{item}，"],
    BAD: ["在网上申请{item}，", "用{platform}办{item}，"],
}
CLOSER = {
    GOOD: ["点赞！", "辛苦了", "谢谢！", "👍", "希望继续保持", "给你们点赞", "值得表扬", "好评"],
    NEUTRAL: ["希望改进", "还需努力", "希望下次能快一点"],
    BAD: [
        "希望相关部门重视",
        "建议多开几个窗口",
        "能不能一次性说清楚",
        "太失望了",
        "真的无语",
        "浪费时间",
        "希望改进",
        "请领导管一管",
        "什么时候能改改",
        "老百姓办个事太难了",
        "差评",
    ],
}
CLOSER_ONLINE = ["希望尽快优化系统", "希望相关部门重视", "太失望了", "浪费时间", "希望改进", "差评", "什么时候能改改"]
ENDINGS = {
    GOOD: ["", "。", "！", "！！", "~"],
    NEUTRAL: ["", "。", "。。。"],
    BAD: ["", "。", "！", "！！", "。。。"],
}
# The "standard answer" a coached unit's raters leave again and again (regime.md §4).
STANDARD_ANSWERS = ["服务热情周到，办事高效便捷，非常满意！", "非常满意", "服务热情周到，办事高效便捷，非常满意！"]
TYPOS = [
    ("已经", "以经"),
    ("应该", "因该"),
    ("再来", "在来"),
    ("账号", "帐号"),
    ("哪里", "那里"),
    ("的时候", "得时候"),
    ("办理", "办里"),
    ("登记", "登计"),
    ("耐心", "耐性"),
    ("一下", "一吓"),
    ("态度", "太度"),
    ("排队", "拍队"),
]
STAFF_REFS = ["工作人员", "小姑娘", "小伙子", "那位大姐", "窗口的同志", "{surname}老师", "{surname}姐"]
SURNAME_HINTS = "王李张刘陈杨黄赵吴周徐孙"


def band(grade: int) -> str:
    return BAD if grade <= 2 else NEUTRAL if grade == 3 else GOOD


_topic_tables: dict[tuple[str, str, tuple], tuple[list[str], list[float]]] = {}


def pick_topic(rng: random.Random, polarity: str, context: str, bias: dict[str, float] | None = None) -> str:
    """The topic a comment (and its tags) is about; a unit's or staff member's weak spot is more likely."""
    context = ONLINE if context == ONLINE else ONSITE
    bias_key = tuple(sorted(bias.items())) if bias and polarity != GOOD else ()
    table = _topic_tables.get((polarity, context, bias_key))
    if table is None:
        weights = dict(TOPIC_WEIGHTS[context][polarity])
        for topic, extra in bias_key:
            if topic in weights:
                weights[topic] += extra
        table = _topic_tables[(polarity, context, bias_key)] = (list(weights), list(accumulate(weights.values())))
    topics, cum = table
    return topics[bisect(cum, rng.random() * cum[-1])]


def _fill(rng: random.Random, text: str, item: str, platform: str) -> str:
    if "{" not in text:
        return text
    staff_ref = rng.choice(STAFF_REFS).replace("{surname}", rng.choice(SURNAME_HINTS))
    return text.format(
        item=item,
        platform=platform,
        wait_min=rng.choice((5, 8, 10, 15, 20, 25, 30, 40)),
        hours=rng.choice(("一", "两", "两", "三")),
        open_n=rng.choice(("一", "两", "两", "三")),
        trips=rng.choice(("三", "三", "四", "五", "两")),
        days=rng.choice((3, 5, 7, 10, 15, 20)),
        promise=rng.choice((3, 5, 7, 10, 15)),
        n=rng.choice(("三", "五", "好几", "十几")),
        window_no=rng.randint(1, 24),
        staff_ref=staff_ref,
    )


def _typo(rng: random.Random, text: str) -> str:
    for right, wrong in rng.sample(TYPOS, len(TYPOS)):
        if right in text:
            return text.replace(right, wrong, 1)
    return text


# A template naming an app, a mini-program or a web page only fits a rating given on that kind of platform.
MEDIA_MARKS = {"App": "App", "小程序": "小程序", "网页": "网"}


def _fits(template: str, item: str, platform: str) -> bool:
    if "{item}" in template and not item:  # not for ratings of a hall, window or platform
        return False
    return all(mark in platform for word, mark in MEDIA_MARKS.items() if word in template)


def _pick_template(rng: random.Random, options: list[str], item: str, platform: str) -> str:
    return rng.choice([t for t in options if _fits(t, item, platform)] or options)


def _end(rng: random.Random, text: str, polarity: str) -> str:
    if text[-1] in "！。~？👍":
        return text
    return text + rng.choice(ENDINGS[polarity])


def compose(rng: random.Random, *, grade: int, context: str, topic: str, item: str = "", platform: str = "") -> str:
    """One comment for a rating of `grade`, given where it was given (`context`) and what it is about."""
    polarity = band(grade)
    if context == SMS:
        return rng.choice(SMS_TEXT[polarity])
    if context == PHONE:
        return rng.choice(PHONE_TEXT[polarity])
    if context in (HOTLINE, TERMINAL, FOLLOWUP):
        pool = {HOTLINE: HOTLINE_TEXT, TERMINAL: TERMINAL_TEXT, FOLLOWUP: FOLLOWUP_TEXT}[context]
        return _end(rng, _fill(rng, rng.choice(pool[polarity]), item, platform), polarity)
    short_share = {GOOD: 0.4, NEUTRAL: 0.3, BAD: 0.08}[polarity]
    if rng.random() < short_share:
        return rng.choice(SHORT[polarity])
    platform = platform or "网上办事大厅"
    templates = T[(polarity, context)]
    parts = [_pick_template(rng, templates.get(topic) or next(iter(templates.values())), item, platform)]
    prefix_share = {GOOD: 0.2, NEUTRAL: 0.15, BAD: 0.3}[polarity]
    first = parts[0]
    if item and rng.random() < prefix_share and "{item}" not in first and not first.startswith(("网上", "手机")):
        prefixes = PREFIX_ONLINE if context == ONLINE else PREFIX
        parts[0] = rng.choice(prefixes[polarity]) + first
    if polarity == BAD and rng.random() < 0.35:
        other = rng.choice([t for t in templates if t != topic])
        parts.append(_pick_template(rng, templates[other], item, platform))
    closer_share = {GOOD: 0.35, NEUTRAL: 0.2, BAD: 0.55}[polarity]
    if rng.random() < closer_share:
        closers = CLOSER_ONLINE if context == ONLINE and polarity == BAD else CLOSER[polarity]
        parts.append(rng.choice(closers))
    text = _fill(rng, "，".join(parts), item, platform)
    if rng.random() < 0.06:
        text = _typo(rng, text)
    return _end(rng, text, polarity)
