"""The case state machine: one table of every action, where it may start, where it leads, what it needs, who.

Services (cases/services.py) refuse anything this table does not allow, with a message naming the rule, and
the property-based tests drive random sequences of these actions (tests/test_case_machine.py).

Actors (who may do it), decided per case by ``cases/access.py``:
- ``handler``: the user the case is assigned to;
- ``unit_admin``: an administrator of the responsible unit (or of a unit above it), or an agency
  administrator whose region covers the case;
- ``agency``: an administrator of the management agency of the case's own region (同级管理机构) — the only
  one who decides appeals;
- ``rater``: the rater through their feedback link (or the handler recording what they said by phone);
- ``system``: the periodic sweep (reminders, escalation, closing when the feedback period ends).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from haochaping.cases.models import State

S = State


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    actors: frozenset[str]
    required: tuple[str, ...] = ()
    evidence: bool = False  # at least one attachment (photo or PDF) is required


def _a(code, label, sources, target, actors, required=(), evidence=False) -> Action:
    return Action(code, label, frozenset(sources), target, frozenset(actors), tuple(required), evidence)


WORKING = (S.ASSIGNED, S.VERIFIED, S.RECTIFYING)
ACTIVE = (S.NEW, *WORKING, S.APPEALING, S.FEEDBACK)

ACTIONS: dict[str, Action] = {
    a.code: a
    for a in (
        _a("assign", _("分派处理人"), [S.NEW], S.ASSIGNED, ["unit_admin"], ["handler"]),
        _a("reassign", _("改派处理人"), WORKING, None, ["unit_admin"], ["handler", "reason"]),
        _a("transfer", _("转办其他单位"), [S.NEW, S.ASSIGNED], S.NEW, ["unit_admin", "handler"], ["to_unit", "reason"]),
        _a("callback", _("记录回访"), WORKING, None, ["handler"], ["at", "channel", "reached"]),
        _a("verify", _("核实情况"), [S.ASSIGNED], S.VERIFIED, ["handler"], ["facts"]),
        _a("fix_now", _("立行立改"), [S.VERIFIED], S.FEEDBACK, ["handler"], ["measures"], evidence=True),
        _a("open_ledger", _("列入台账限期整改"), [S.VERIFIED], S.RECTIFYING, ["handler"], ["measures", "deadline"]),
        _a("progress", _("记录整改进展"), [S.RECTIFYING], None, ["handler"], ["note"]),
        _a("extend", _("申请延期（限一次）"), [S.RECTIFYING], None, ["handler"], ["deadline", "reason"]),
        _a("complete", _("整改完成"), [S.RECTIFYING], S.FEEDBACK, ["handler"], ["measures"], evidence=True),
        _a("explain", _("解释说明"), [S.VERIFIED], S.FEEDBACK, ["handler"], ["explanation"]),
        _a(
            "appeal",
            _("申诉误评/恶意差评"),
            [S.VERIFIED],
            S.APPEALING,
            ["handler"],
            ["ground", "reason"],
            evidence=True,
        ),
        _a("approve_appeal", _("同意申诉，不予采纳"), [S.APPEALING], S.FEEDBACK, ["agency"], ["note"]),
        _a("reject_appeal", _("驳回申诉"), [S.APPEALING], S.VERIFIED, ["agency"], ["note"]),
        _a("rate_handling", _("评价处理结果"), [S.FEEDBACK], S.CLOSED, ["rater", "handler"], ["feedback_grade"]),
        _a("close_no_response", _("反馈期满办结"), [S.FEEDBACK], S.CLOSED, ["system"]),
        _a("pause", _("暂停计时（等待评价人）"), WORKING, None, ["handler"], ["reason"]),
        _a("resume", _("恢复计时"), WORKING, None, ["handler", "system"]),
        _a("note", _("添加备注"), ACTIVE, None, ["handler", "unit_admin", "agency"], ["note"]),
        _a("remind", _("临期提醒"), (S.NEW, *WORKING), None, ["system"]),
        _a("escalate", _("超期督办"), (S.NEW, *WORKING, S.APPEALING), None, ["system"]),
    )
}
# rate_handling with 不满意 on a case not yet reopened leads back to ASSIGNED (重办), not to CLOSED.
REOPEN_TARGET = S.ASSIGNED

# The actions a signed-in user may take on the case page (rate_handling there records what the rater said by
# phone); the others belong to the rater's page and the sweep.
PAGE_ACTIONS = [code for code, a in ACTIONS.items() if a.actors - {"system", "rater"}]


def allowed_from(state: str) -> list[Action]:
    return [a for a in ACTIONS.values() if state in a.sources]
