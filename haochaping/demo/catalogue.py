"""Static content of the demo province: places, departments, their 事项 catalogues, windows and names.

Region codes and names follow the real 行政区划 of 浙江省 so that codes look right in every export; the
organisations, codes, people and ratings built on them are invented (see generator.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVINCE = ("330000000000", "浙江省", "zhejiang")

# (city code, name, login slug, volume factor, counties as (code, name, slug))
CITIES: list[tuple[str, str, str, float, list[tuple[str, str, str]]]] = [
    (
        "330100000000",
        "杭州市",
        "hangzhou",
        1.35,
        [
            ("330102000000", "上城区", "shangcheng"),
            ("330105000000", "拱墅区", "gongshu"),
            ("330106000000", "西湖区", "xihu"),
            ("330108000000", "滨江区", "binjiang"),
            ("330109000000", "萧山区", "xiaoshan"),
            ("330110000000", "余杭区", "yuhang"),
            ("330122000000", "桐庐县", "tonglu"),
            ("330127000000", "淳安县", "chunan"),
        ],
    ),
    (
        "330200000000",
        "宁波市",
        "ningbo",
        1.15,
        [
            ("330203000000", "海曙区", "haishu"),
            ("330205000000", "江北区", "jiangbei"),
            ("330206000000", "北仑区", "beilun"),
            ("330212000000", "鄞州区", "yinzhou"),
            ("330225000000", "象山县", "xiangshan"),
            ("330226000000", "宁海县", "ninghai"),
            ("330281000000", "余姚市", "yuyao"),
            ("330282000000", "慈溪市", "cixi"),
        ],
    ),
    (
        "330300000000",
        "温州市",
        "wenzhou",
        1.05,
        [
            ("330302000000", "鹿城区", "lucheng"),
            ("330303000000", "龙湾区", "longwan"),
            ("330304000000", "瓯海区", "ouhai"),
            ("330324000000", "永嘉县", "yongjia"),
            ("330326000000", "平阳县", "pingyang"),
            ("330381000000", "瑞安市", "ruian"),
            ("330382000000", "乐清市", "yueqing"),
        ],
    ),
    (
        "330400000000",
        "嘉兴市",
        "jiaxing",
        0.8,
        [
            ("330402000000", "南湖区", "nanhu"),
            ("330411000000", "秀洲区", "xiuzhou"),
            ("330421000000", "嘉善县", "jiashan"),
            ("330424000000", "海盐县", "haiyan"),
            ("330481000000", "海宁市", "haining"),
            ("330483000000", "桐乡市", "tongxiang"),
        ],
    ),
    (
        "330600000000",
        "绍兴市",
        "shaoxing",
        0.85,
        [
            ("330602000000", "越城区", "yuecheng"),
            ("330603000000", "柯桥区", "keqiao"),
            ("330604000000", "上虞区", "shangyu"),
            ("330624000000", "新昌县", "xinchang"),
            ("330681000000", "诸暨市", "zhuji"),
            ("330683000000", "嵊州市", "shengzhou"),
        ],
    ),
    (
        "330700000000",
        "金华市",
        "jinhua",
        0.9,
        [
            ("330702000000", "婺城区", "wucheng"),
            ("330703000000", "金东区", "jindong"),
            ("330723000000", "武义县", "wuyi"),
            ("330726000000", "浦江县", "pujiang"),
            ("330782000000", "义乌市", "yiwu"),
            ("330783000000", "东阳市", "dongyang"),
            ("330784000000", "永康市", "yongkang"),
        ],
    ),
    (
        "330500000000",
        "湖州市",
        "huzhou",
        0.7,
        [
            ("330502000000", "吴兴区", "wuxing"),
            ("330503000000", "南浔区", "nanxun"),
            ("330521000000", "德清县", "deqing"),
            ("330522000000", "长兴县", "changxing"),
            ("330523000000", "安吉县", "anji"),
        ],
    ),
]
MAX_CITIES = len(CITIES)

# Township (乡镇/街道) names are drawn from these stems; districts get 街道, counties a mix with 镇/乡.
# fmt: off
TOWNSHIP_STEMS = [
    "城东", "城西", "城南", "城北", "新城", "文昌", "凤山", "桥头", "石门", "龙泉", "白沙", "青山", "河口",
    "新塘", "大溪", "柳溪", "梅林", "高桥", "双溪", "东湖", "西湖", "南苑", "北山", "湖滨", "清河", "望江",
    "临江", "金沙", "银湖", "花园", "长安", "永安", "和平", "兴隆", "古塘", "横街", "前洋", "塘下", "仙居",
    "马岙", "岩头", "樟村", "松阳", "竹溪", "莲花", "黄泥", "五联", "九龙", "三江", "新桥",
]
# fmt: on

# --- organisations -----------------------------------------------------------------------------------

# USCC registration authority + organisation kind per Organisation.Kind (GB 32100: 1 机构编制 → 1 机关,
# 2 事业单位, 3 群团; 9 工商 → 1 企业).
USCC_PREFIX = {"agency": ("1", "1"), "department": ("1", "1"), "institution": ("1", "2"), "enterprise": ("9", "1")}
USCC_PREFIX_OTHER = ("1", "3")


@dataclass(frozen=True)
class Item:
    """One 事项 of a department's catalogue (GB/T 39046 A.1 item type, 服务对象 codes)."""

    name: str
    item_type: str
    objects: str = "1"
    weight: float = 1.0
    levels: str = "CX"  # P province, C city, X county
    on_site: bool = True
    online: bool = True


@dataclass(frozen=True)
class Dept:
    key: str
    kind: str
    weight: float
    # name templates per level; {r} own region, {c} the city of a county, {rs} region name without suffix
    province: str | None
    city: str | None
    county: str | None
    district: str | None = None  # a 区's name when it differs from a 县's (branch of the city department)
    parent: str | None = None
    windows: tuple[tuple[str, int], ...] = ()  # centre windows: (name, count at city level)
    station: str | None = None  # window name in township 便民服务中心, if the department serves there
    items: tuple[Item, ...] = field(default_factory=tuple)


# GB/T 39046 A.1 事项类型: 许可 处罚 给付 确认 奖励 裁决 其他行政权力 公共服务
L, P, G, CF, AWARD, ADJ, OTHER, PS = "01", "02", "05", "07", "08", "09", "10", "20"

# fmt: off
DEPARTMENTS: list[Dept] = [
    Dept(
        "gongan", "department", 3.2, "{r}公安厅", "{r}公安局", "{r}公安局", "{c}公安局{r}分局",
        windows=(("户籍办理", 2), ("出入境", 2), ("车驾管", 2)), station="户籍办理",
        items=(
            Item("居民身份证换领", PS, weight=6), Item("居民身份证补领", PS, weight=3),
            Item("临时居民身份证申领", PS, weight=1.5, online=False), Item("出生登记", CF, weight=2),
            Item("户口迁移（市内）", L, weight=1.5), Item("居住证申领", PS, weight=2.5),
            Item("无犯罪记录证明开具", PS, weight=2), Item("普通护照签发", L, weight=2.5),
            Item("往来港澳通行证签注", L, weight=3), Item("机动车驾驶证换证", L, weight=2.5),
            Item("机动车注册登记", L, "1,2", weight=1.5), Item("机动车检验合格标志核发", L, "1,2", weight=2),
            Item("保安服务公司设立许可", L, "2", weight=0.2, levels="P"),
            Item("剧毒化学品购买许可", L, "2", weight=0.1, levels="PC"),
        ),
    ),
    Dept(
        "shichang", "department", 3.0, "{r}市场监督管理局", "{r}市场监督管理局", "{r}市场监督管理局",
        windows=(("商事登记", 3), ("食品药品许可", 1)),
        items=(
            Item("营业执照设立登记", L, "2,5", weight=6), Item("营业执照变更登记", L, "2,5", weight=4),
            Item("营业执照注销登记", L, "2,5", weight=2), Item("个体工商户设立登记", L, "1,5", weight=4),
            Item("食品经营许可（新办）", L, "1,2", weight=3), Item("食品经营许可（延续）", L, "1,2", weight=1.5),
            Item("小餐饮登记", L, "1,5", weight=1.5), Item("药品零售企业经营许可", L, "2", weight=0.8),
            Item("第二类医疗器械经营备案", OTHER, "2", weight=0.5), Item("特种设备使用登记", L, "2", weight=0.8),
            Item("食品生产许可", L, "2", weight=0.4, levels="PC"),
            Item("药品批发企业经营许可", L, "2", weight=0.2, levels="P"),
        ),
    ),
    Dept(
        "renshe", "department", 2.8, "{r}人力资源和社会保障厅", "{r}人力资源和社会保障局", "{r}人力资源和社会保障局",
        windows=(("社保服务", 2), ("就业服务", 1)), station="社保医保",
        items=(
            Item("社会保障卡申领", PS, weight=5), Item("社会保障卡补换", PS, weight=3),
            Item("失业保险金申领", G, weight=2), Item("职工基本养老保险关系转移", PS, weight=2),
            Item("城乡居民基本养老保险参保登记", PS, weight=2), Item("灵活就业人员参保登记", PS, weight=2),
            Item("就业创业证申领", PS, weight=1.5), Item("退休申请", CF, weight=1.5),
            Item("工伤认定申请", CF, "1,2", weight=0.8), Item("职业技能提升补贴申领", G, weight=1),
            Item("人力资源服务许可", L, "2", weight=0.3, levels="PC"),
            Item("劳务派遣经营许可", L, "2", weight=0.2, levels="PC"),
        ),
    ),
    Dept(
        "ziranziyuan", "department", 0.9, "{r}自然资源厅", "{r}自然资源和规划局", "{r}自然资源和规划局",
        "{c}规划和自然资源局{r}分局",
        windows=(("规划审批", 1),),
        items=(
            Item("建设用地规划许可证核发", L, "2", weight=1), Item("建设工程规划许可证核发", L, "2", weight=1.2),
            Item("乡村建设规划许可证核发", L, "1,2", weight=1), Item("建设工程规划条件核实", CF, "2", weight=0.8),
            Item("土地权属争议调处", ADJ, "1,2", weight=0.3), Item("采矿权登记", L, "2", weight=0.2, levels="P"),
        ),
    ),
    Dept(
        "budongchan", "institution", 3.0, None, "{r}不动产登记服务中心", "{r}不动产登记服务中心",
        "{c}不动产登记服务中心{r}分中心", parent="ziranziyuan",
        windows=(("不动产登记", 3), ("不动产查询", 1)),
        items=(
            Item("不动产转移登记（二手房）", CF, "1,2", weight=5),
            Item("不动产首次登记（新建商品房）", CF, "1,2", weight=3),
            Item("不动产抵押登记", CF, "1,2", weight=3.5), Item("不动产抵押权注销登记", CF, "1,2", weight=2),
            Item("不动产变更登记", CF, "1,2", weight=1.5), Item("不动产继承转移登记", CF, weight=1),
            Item("不动产预告登记", CF, "1,2", weight=1), Item("不动产登记资料查询", PS, "1,2", weight=3),
        ),
    ),
    Dept(
        "zhujian", "department", 1.2, "{r}住房和城乡建设厅", "{r}住房和城乡建设局", "{r}住房和城乡建设局",
        windows=(("住建审批", 1),),
        items=(
            Item("建筑工程施工许可证核发", L, "2", weight=1.2), Item("商品房预售许可", L, "2", weight=0.8),
            Item("房屋租赁登记备案", OTHER, "1,2", weight=2), Item("公共租赁住房申请", G, weight=1.5),
            Item("建设工程竣工验收备案", OTHER, "2", weight=0.8), Item("城市建筑垃圾处置核准", L, "2", weight=0.5),
            Item("建筑业企业资质核准", L, "2", weight=0.4, levels="PC"),
            Item("房地产开发企业资质核定", L, "2", weight=0.3, levels="PC"),
        ),
    ),
    Dept(
        "shuiwu", "department", 2.6, "国家税务总局{r}税务局", "国家税务总局{r}税务局", "国家税务总局{r}税务局",
        "国家税务总局{c}{r}税务局",
        windows=(("税务综合", 3),),
        items=(
            Item("发票领用", OTHER, "1,2,5", weight=4), Item("增值税申报", OTHER, "2,5", weight=3),
            Item("个人所得税综合所得汇算清缴", OTHER, weight=3), Item("税务登记信息确认", OTHER, "2,5", weight=1.5),
            Item("完税证明开具", PS, "1,2", weight=1.5), Item("二手房交易契税申报", OTHER, weight=2.5),
            Item("车辆购置税申报", OTHER, "1,2", weight=1.5), Item("城乡居民社会保险费缴纳", OTHER, weight=2),
        ),
    ),
    Dept(
        "yibao", "department", 2.2, "{r}医疗保障局", "{r}医疗保障局", "{r}医疗保障局",
        windows=(("医保服务", 2),), station="社保医保",
        items=(
            Item("医保异地就医备案", PS, weight=4), Item("基本医疗保险关系转移接续", PS, weight=2),
            Item("门诊慢特病待遇认定", CF, weight=2), Item("医疗费用手工报销", G, weight=2.5),
            Item("生育津贴申领", G, weight=1.5), Item("城乡居民基本医疗保险参保登记", PS, weight=2.5),
            Item("定点医药机构申请受理", OTHER, "2", weight=0.3),
        ),
    ),
    Dept(
        "minzheng", "department", 1.6, "{r}民政厅", "{r}民政局", "{r}民政局",
        windows=(("婚姻登记", 1), ("社会救助", 1)), station="民政事务",
        items=(
            Item("结婚登记", CF, weight=3, online=False), Item("离婚登记", CF, weight=1, online=False),
            Item("补领婚姻登记证", CF, weight=1), Item("最低生活保障申请", G, weight=1.5),
            Item("困难残疾人生活补贴和重度残疾人护理补贴申请", G, weight=1.2), Item("高龄津贴申领", G, weight=1.2),
            Item("特困人员救助供养申请", G, weight=0.6), Item("社会团体成立登记", L, "4", weight=0.3),
            Item("民办非企业单位成立登记", L, "4", weight=0.3),
        ),
    ),
    Dept(
        "weijian", "department", 1.3, "{r}卫生健康委员会", "{r}卫生健康委员会", "{r}卫生健康局",
        windows=(("卫生健康", 1),),
        items=(
            Item("医师执业注册", L, weight=1), Item("护士执业注册", L, weight=1.2),
            Item("医疗机构执业登记", L, "2,3", weight=0.5), Item("公共场所卫生许可", L, "1,2", weight=1.5),
            Item("出生医学证明补发", PS, weight=1), Item("生育登记", PS, weight=1.5),
            Item("独生子女父母奖励金申领", AWARD, weight=0.6), Item("放射诊疗许可", L, "2,3", weight=0.2),
        ),
    ),
    Dept(
        "jiaotong", "department", 1.0, "{r}交通运输厅", "{r}交通运输局", "{r}交通运输局",
        windows=(("交通运输", 1),),
        items=(
            Item("道路货物运输经营许可", L, "1,2", weight=1), Item("网络预约出租汽车驾驶员证核发", L, weight=1.2),
            Item("出租汽车驾驶员从业资格注册", L, weight=0.8), Item("道路运输证年度审验", OTHER, "1,2", weight=1.5),
            Item("超限运输车辆行驶公路许可", L, "1,2", weight=0.6),
            Item("港口经营许可", L, "2", weight=0.2, levels="PC"),
        ),
    ),
    Dept(
        "gongjijin", "institution", 2.0, None, "{r}住房公积金管理中心", "{c}住房公积金管理中心{r}分中心",
        windows=(("公积金", 2),),
        items=(
            Item("住房公积金提取（购房）", PS, weight=4), Item("住房公积金提取（租房）", PS, weight=3.5),
            Item("住房公积金个人住房贷款申请", PS, weight=2), Item("住房公积金缴存登记", PS, "2", weight=1),
            Item("住房公积金转移接续", PS, weight=1.5), Item("住房公积金贷款提前还款", PS, weight=1.2),
            Item("住房公积金缴存证明开具", PS, weight=1.5),
        ),
    ),
    Dept(
        "jiaoyu", "department", 1.0, "{r}教育厅", "{r}教育局", "{r}教育局",
        windows=(("教育服务", 1),),
        items=(
            Item("教师资格认定", L, weight=1.5), Item("义务教育阶段新生入学登记", PS, weight=2.5),
            Item("义务教育阶段学生转学", PS, weight=1), Item("民办学校办学许可", L, "4", weight=0.2),
            Item("校外培训机构设立审批", L, "4", weight=0.2),
        ),
    ),
    Dept(
        "sifa", "department", 0.7, "{r}司法厅", "{r}司法局", "{r}司法局",
        windows=(("法律服务", 1),),
        items=(
            Item("法律援助申请", G, weight=1.5), Item("人民调解申请", PS, "1,2", weight=1),
            Item("律师执业许可", L, weight=0.3, levels="P"), Item("基层法律服务工作者执业核准", L, weight=0.2),
        ),
    ),
    Dept(
        "gongzheng", "institution", 0.8, None, "{r}公证处", "{r}公证处", parent="sifa",
        windows=(("公证", 1),),
        items=(
            Item("出生公证", PS, weight=1), Item("学历公证", PS, weight=1), Item("继承公证", PS, weight=0.8),
            Item("委托公证", PS, "1,2", weight=1),
        ),
    ),
    Dept(
        "shengtai", "department", 0.6, "{r}生态环境厅", "{r}生态环境局", "{r}生态环境局", "{c}生态环境局{r}分局",
        windows=(("环评审批", 1),),
        items=(
            Item("建设项目环境影响评价文件审批", L, "2", weight=1), Item("排污许可证核发", L, "2", weight=0.8),
            Item("危险废物经营许可", L, "2", weight=0.2, levels="P"), Item("辐射安全许可", L, "2", weight=0.2),
        ),
    ),
    Dept(
        "nongye", "department", 0.6, "{r}农业农村厅", "{r}农业农村局", "{r}农业农村局",
        windows=(("农业服务", 1),),
        items=(
            Item("农药经营许可", L, "1,2", weight=0.5), Item("动物防疫条件合格证核发", L, "1,2", weight=0.4),
            Item("农村村民宅基地审批", L, weight=1, levels="X"), Item("兽药经营许可", L, "2", weight=0.3),
            Item("农作物种子生产经营许可", L, "2", weight=0.2),
        ),
    ),
    Dept(
        "wenlv", "department", 0.5, "{r}文化和旅游厅", "{r}文化广电旅游局", "{r}文化和广电旅游体育局",
        windows=(("文化旅游", 1),),
        items=(
            Item("娱乐场所经营许可", L, "2", weight=0.5), Item("营业性演出审批", L, "2", weight=0.5),
            Item("旅行社设立许可", L, "2", weight=0.3, levels="PC"),
            Item("互联网上网服务营业场所经营许可", L, "2", weight=0.3),
        ),
    ),
    Dept(
        "shangwu", "department", 0.4, "{r}商务厅", "{r}商务局", "{r}商务局",
        items=(
            Item("对外贸易经营者备案登记", OTHER, "2", weight=0.8),
            Item("单用途商业预付卡备案", OTHER, "2", weight=0.3),
            Item("外商投资企业信息报告", OTHER, "2", weight=0.3),
        ),
    ),
    Dept(
        "yingji", "department", 0.4, "{r}应急管理厅", "{r}应急管理局", "{r}应急管理局",
        items=(
            Item("危险化学品经营许可", L, "2", weight=0.5), Item("烟花爆竹经营（零售）许可", L, "1,2", weight=0.4),
            Item("生产安全事故应急预案备案", OTHER, "2", weight=0.3),
            Item("安全生产许可", L, "2", weight=0.2, levels="P"),
        ),
    ),
    Dept(
        "tuiyi", "department", 0.5, "{r}退役军人事务厅", "{r}退役军人事务局", "{r}退役军人事务局",
        windows=(("退役军人服务", 1),),
        items=(
            Item("退役军人优待证申领", PS, weight=1), Item("退役士兵自主就业一次性经济补助", G, weight=0.5),
            Item("伤残抚恤金发放", G, weight=0.3), Item("退役军人创业扶持申请", PS, weight=0.3),
        ),
    ),
    Dept(
        "shuili", "department", 0.3, "{r}水利厅", "{r}水利局", "{r}水利局",
        items=(
            Item("取水许可", L, "2", weight=0.4), Item("河道管理范围内建设项目审批", L, "2", weight=0.3),
            Item("生产建设项目水土保持方案审批", L, "2", weight=0.3),
        ),
    ),
    Dept(
        "chengguan", "department", 0.7, None, "{r}城市管理局", "{r}综合行政执法局",
        windows=(("城管审批", 1),),
        items=(
            Item("户外广告设施设置许可", L, "1,2", weight=0.8), Item("城市道路挖掘许可", L, "2", weight=0.4),
            Item("临时占用城市道路审批", L, "1,2", weight=0.6), Item("违法停车处罚缴纳", P, "1,2", weight=1),
        ),
    ),
    Dept(
        "fagai", "department", 0.5, "{r}发展和改革委员会", "{r}发展和改革委员会", "{r}发展和改革局",
        windows=(("投资项目审批", 1),),
        items=(
            Item("企业投资项目备案", OTHER, "2", weight=1), Item("固定资产投资项目节能审查", L, "2", weight=0.3),
            Item("价格认定", OTHER, "1,2", weight=0.2),
        ),
    ),
    Dept(
        "jingxin", "department", 0.3, "{r}经济和信息化厅", "{r}经济和信息化局", "{r}经济和信息化局",
        items=(Item("企业技术改造项目备案", OTHER, "2", weight=0.5), Item("工业企业技术中心认定", CF, "2", weight=0.2)),
    ),
    Dept(
        "keji", "department", 0.3, "{r}科学技术厅", "{r}科学技术局", "{r}科学技术局",
        items=(Item("高新技术企业认定申报", CF, "2", weight=0.5), Item("科技型中小企业评价", CF, "2", weight=0.4)),
    ),
    Dept(
        "xiaofang", "department", 0.5, "{r}消防救援总队", "{r}消防救援支队", "{r}消防救援大队",
        windows=(("消防审批", 1),),
        items=(Item("公众聚集场所投入使用、营业前消防安全检查", L, "2", weight=1),),
    ),
    Dept(
        "yancao", "department", 0.5, None, "{r}烟草专卖局", "{r}烟草专卖局",
        windows=(("烟草专卖", 1),),
        items=(
            Item("烟草专卖零售许可证新办", L, "1,5", weight=1), Item("烟草专卖零售许可证延续", L, "1,5", weight=0.8),
        ),
    ),
    Dept(
        "canlian", "other", 0.6, "{r}残疾人联合会", "{r}残疾人联合会", "{r}残疾人联合会",
        station="民政事务",
        items=(
            Item("残疾人证办理", PS, weight=1.2), Item("残疾人辅助器具适配申请", PS, weight=0.6),
            Item("残疾人就业创业补贴申请", G, weight=0.4),
        ),
    ),
    Dept(
        "dangan", "institution", 0.4, "{r}档案馆", "{r}档案馆", "{r}档案馆",
        items=(Item("婚姻登记档案查询", PS, weight=1), Item("档案查阅利用", PS, "1,2", weight=0.8)),
    ),
    Dept(
        "gongdian", "enterprise", 1.0, None, "国网{rs}供电公司", "国网{r}供电公司",
        windows=(("水电气联办", 1),),
        items=(
            Item("低压居民用电新装", PS, weight=1.5), Item("用电过户", PS, "1,2", weight=1.2),
            Item("高压用电新装（增容）", PS, "2", weight=0.4),
        ),
    ),
    Dept(
        "shuiwu_water", "enterprise", 0.6, None, "{r}水务集团有限公司", "{r}自来水有限公司",
        items=(Item("用水报装", PS, "1,2", weight=1), Item("用水过户", PS, "1,2", weight=0.8)),
    ),
]
# fmt: on
DEPT_BY_KEY = {d.key: d for d in DEPARTMENTS}

# The region's management agency (政务服务管理机构): at city level the 数据资源管理局 runs the centre.
AGENCY_NAMES = {1: "{r}政务服务管理办公室", 2: "{r}数据资源管理局", 3: "{r}政务服务管理办公室"}
AGENCY_WINDOWS = (("综合受理", 3), ("咨询导办", 1), ("帮办代办", 1))
STATION_AGENCY_WINDOW = "综合受理"

# Units that later integrity checks should stand out: candidates for the markedly worse and the perfect ones.
WORSE_UNIT_CANDIDATES = ("budongchan", "renshe", "gongan", "shuiwu", "zhujian")
PERFECT_UNIT_CANDIDATES = ("yibao", "gongjijin", "minzheng")

STAFF_TITLES_WINDOW = ("窗口受理员", "窗口受理员", "窗口受理员", "综合窗口工作人员", "业务骨干", "首席代表")
STAFF_TITLES_BACK = ("审批科科员", "业务科科员", "审批科副科长", "办事员")

# --- people ------------------------------------------------------------------------------------------

# Common surnames, most frequent first; weights fall off so 王/李/张/刘/陈 dominate as in life.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣斌晨阳峰建国志海东亮文博"
GIVEN_CHARS_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪琳丹萍红洁颖梅莉倩慧佳琪瑶璐晶悦欣怡婧雯佩蕾露楠薇"
