"""The surveys demo: an open survey sent by SMS through the console backend with responses, and a closed one."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from haochaping.accounts.models import Membership, Role
from haochaping.directory.models import Organisation
from haochaping.lib.uscc import make_uscc
from haochaping.messaging.models import SmsMessage
from haochaping.surveys.demo import PAST_TITLE, TITLE, seed_demo
from haochaping.surveys.models import Invitation, Response, Survey
from tests.test_surveys import completed_cases

pytestmark = pytest.mark.django_db


def test_demo_sends_by_sms_answers_some_and_is_skipped_the_second_time(world, capsys):
    agency = Organisation.objects.create(uscc=make_uscc("1", "1", "330000", "00010001"), name="浙江省大数据发展管理局",
                                         kind=Organisation.Kind.AGENCY, region=world.province)  # fmt: skip
    user = get_user_model().objects.create_user(username="province", password="x")
    Membership.objects.create(user=user, unit=agency, role=Role.AGENCY_ADMIN)
    completed_cases(world, "a", 30, days_ago=8)  # the demo sends "6 days ago"
    completed_cases(world, "b", 30, days_ago=8)
    completed_cases(world, "a", 10, days_ago=50, start=500)  # last month's
    lines: list[str] = []
    seed_demo(lines.append, 42)
    survey = Survey.objects.get(title=TITLE)
    assert survey.state == Survey.State.OPEN and survey.questions.count() == 6
    sms = Invitation.objects.filter(survey=survey, channel="sms")
    assert sms.count() == 60  # every recent applicant (fewer than 100 here); none left for the QR codes
    assert not Invitation.objects.filter(survey=survey, channel="qr").exists()
    assert SmsMessage.objects.filter(kind=SmsMessage.Kind.SURVEY, status="sent").count() == sms.count()
    responses = Response.objects.filter(survey=survey).count()
    assert 10 <= responses <= 45
    past = Survey.objects.get(title=PAST_TITLE)
    assert past.state == Survey.State.CLOSED and Response.objects.filter(survey=past).exists()
    assert "短信邀请 60 条" in lines[0] and "答卷" in lines[0]
    assert "[SMS" not in capsys.readouterr().out  # the console output of 60 messages is kept out of the summary
    seed_demo(lines.append, 42)
    assert "已存在" in lines[-1] and Survey.objects.filter(title=TITLE).count() == 1
