"""The text pipeline of comment mining: normalisation, masking of personal data, segmentation with the dictionary."""

from __future__ import annotations

import pytest

from haochaping.insight.text import Pipeline, mask, normalise

PIPE = Pipeline(names=["李明", "欧阳晓红"], words=["杭州市上城区不动产登记服务中心", "居民身份证换领"])


def test_normalise_makes_full_width_half_width_and_collapses_space():
    assert normalise("ＡＰＰ　老是  闪退！！１２３") == "app 老是 闪退!!123"


@pytest.mark.parametrize(
    "raw, gone, placeholder",
    [
        ("打我电话13812345678", "13812345678", "[手机号]"),
        ("手机 138-1234-5678 谢谢", "1234", "[手机号]"),
        ("电话+86 139 1234 5678", "5678", "[手机号]"),
        ("座机0571-88886666没人接", "88886666", "[电话]"),
        ("身份证号330106199001011234", "330106199001011234", "[证件号]"),
        ("证件33010619900101123X丢了", "123x", "[证件号]"),
        ("卡号6222021234567890123", "6222021234567890123", "[卡号]"),
        ("发到abc.def@qq.com", "abc.def", "[邮箱]"),
        ("我叫张三，来办证", "张三", "[姓名]"),
        ("姓名：王五", "王五", "[姓名]"),
        ("窗口的李明态度差", "李明", "[姓名]"),
        ("欧阳晓红很负责", "欧阳晓红", "[姓名]"),
        ("王先生说要等", "王先生", "[姓名]先生"),
    ],
)
def test_personal_data_is_masked(raw, gone, placeholder):
    masked = PIPE.mask(raw)
    assert gone not in masked
    assert placeholder in masked


def test_masking_leaves_ordinary_numbers_and_words():
    assert mask(normalise("排队2个小时，3号窗口，等了40分钟")) == "排队2个小时,3号窗口,等了40分钟"
    assert PIPE.mask("先生们女士们") == "先生们女士们"  # no surname before the title
    assert PIPE.mask("我是来办证的") == "我是来办证的"


def test_terms_keep_domain_words_whole_and_drop_stop_words_numbers_placeholders():
    prepared = PIPE.prepare(
        "我在杭州市上城区不动产登记服务中心办理居民身份证换领，叫号机坏了，李明态度很差，电话13812345678"
    )
    assert "杭州市上城区不动产登记服务中心" in prepared.terms
    assert "居民身份证换领" in prepared.terms
    assert "叫号机" in prepared.terms
    assert "差" in prepared.terms  # a single character kept: it is a complaint on its own
    for dropped in ("我", "在", "了", "的", "13812345678", "手机号", "李明", "姓名"):
        assert dropped not in prepared.terms
    assert "13812345678" not in prepared.text and "李明" not in prepared.text


def test_terms_are_distinct_and_tokens_padded_for_like_search():
    prepared = PIPE.prepare("排队排队还是排队")
    assert prepared.terms.count("排队") == 1
    assert prepared.tokens.startswith(" ") and prepared.tokens.endswith(" ")
    assert " 排队 " in prepared.tokens
    assert Pipeline().prepare("！！！").tokens == " "
