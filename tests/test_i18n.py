"""The English catalog: model names, choices and pages translate under "en"; Chinese stays the default."""

from __future__ import annotations

import ast
import gettext

from django.conf import settings
from django.test import Client
from django.utils import translation

from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.ratings.codes import Grade
from haochaping.ratings.models import Rating, ServiceCase


def test_it_translates_model_names_and_choices_into_english():
    with translation.override("en"):
        assert str(Region._meta.verbose_name) == "Region"
        assert str(Organisation._meta.verbose_name) == "Agency / department"
        assert str(ServiceItem._meta.verbose_name_plural) == "Service item"
        assert str(ServiceCase._meta.verbose_name) == "Case"
        assert str(Rating._meta.get_field("comment").verbose_name) == "Comment"
        assert str(Grade.VERY_DISSATISFIED.label) == "Very dissatisfied"


def test_it_keeps_chinese_as_the_default_language():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert str(Region._meta.verbose_name) == "行政区划"
        assert str(ServiceItem._meta.verbose_name_plural) == "政务服务事项"
        assert str(Grade.VERY_DISSATISFIED.label) == "非常不满意"


def english_client() -> Client:
    """English is chosen with the language switch (a cookie); the browser's Accept-Language is ignored."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_it_renders_the_home_page_in_english_when_chosen(db):
    english = english_client().get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Government Service Review Platform" in english and "Staff sign-in" in english
    assert "政务服务" not in english

    chinese = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()  # an English browser alone: Chinese
    assert '<html lang="zh-hans">' in chinese
    assert "政务服务“好差评”平台" in chinese and "工作人员登录" in chinese


def test_it_renders_the_rating_page_in_english(world):
    from haochaping.accounts.scope import ALL_SCOPE
    from haochaping.ratings.services import service_case_register

    reg = service_case_register(scope=ALL_SCOPE, case_no="I18N-1", item_code=world.a.item.implementation_code)
    page = english_client().get(f"/r/{reg.token}/").content.decode()
    for text in ("Please rate the service you received", "Very dissatisfied", "Submit rating", "Was the procedure"):
        assert text in page
    assert "请您对本次服务进行评价" not in page


def po_entries(path) -> dict[tuple[str, str], str]:
    """(msgctxt, msgid) → msgstr of the translated, non-fuzzy singular entries of a .po file (enough to check
    the .mo); msgctxt is "" for an entry without a context."""
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = block.splitlines()
        if any(
            line.startswith(("msgid_plural", "#~")) or ("fuzzy" in line and line.startswith("#,")) for line in lines
        ):
            continue
        parts: dict[str, str] = {}
        key = None
        for line in lines:
            if line.startswith(("msgctxt ", "msgid ", "msgstr ")):
                key, _, line = line.partition(" ")
            if key and line.startswith('"'):
                parts[key] = parts.get(key, "") + ast.literal_eval(line)
        if parts.get("msgid") and parts.get("msgstr"):
            entries[(parts.get("msgctxt", ""), parts["msgid"])] = parts["msgstr"]
    return entries


def test_it_ships_the_compiled_catalog_matching_the_po_file():
    po = settings.BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
    with (po.parent / "django.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    entries = po_entries(po)
    assert len(entries) > 200
    stale = [
        msgid
        for (context, msgid), msgstr in entries.items()
        if (mo.pgettext(context, msgid) if context else mo.gettext(msgid)) != msgstr
    ]
    assert not stale, f"django.mo is older than django.po, run compilemessages (docs/translations.md): {stale[:5]}"
