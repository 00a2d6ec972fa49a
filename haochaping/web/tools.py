"""The signed-in home page's list of tools: what this user's role can open (presentation only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope


@dataclass(frozen=True)
class Tool:
    title: str
    url: str
    note: str


def tools_for(user, scope: Scope) -> list[Tool]:
    from haochaping.audit.selectors import may_read_audit
    from haochaping.messaging.views import console_allowed

    tools = []
    if user.is_staff:
        tools.append(Tool(_("管理后台"), "/admin/", _("目录、办件、评价、接口密钥、评价器与二维码")))
    if scope.kind in ("all", "region", "units"):  # window staff are rated, not handlers of their own 差评
        tools.append(Tool(_("差评与投诉工单"), "/cases/", _("分派、回访核实、整改台账、反馈；按期限提醒和督办")))
    if scope.kind in ("all", "region", "units"):
        note = _("在办工单按时长、单位、状态；回访率、整改率、按期整改率")
        tools.append(Tool(_("督办看板与闭环指标"), "/cases/board/", note))
    if scope.kind in ("all", "region", "units", "staff"):  # window staff: their own figures only
        note = _("评价趋势、等级与渠道分布，按地区、单位、人员逐级下钻；图表可切换为表格并导出")
        tools.append(Tool(_("统计分析看板"), "/analytics/", note))
    if scope.supervises:
        note = _("热词与词云、反映集中的问题（可交办整改）、激增预警、投诉分派建议、差评成因分析")
        tools.append(Tool(_("意见挖掘"), "/insight/", note))
    if scope.supervises:
        note = _("刷好评、代评、自评、集中恶意差评等可疑评价及证据，核查后记录结果")
        tools.append(Tool(_("数据真实性监测"), "/integrity/", note))
    if scope.supervises:
        note = _("差评整改公开条目：自动脱敏后审核、删改或不予公开（审核记录不公开）")
        tools.append(Tool(_("整改公开审核"), "/disclosure/moderation/", note))
    if scope.supervises:
        note = _("检查表与检查计划（含暗访、神秘访客），手机端现场检查、拍照取证，不合格项自动交办整改")
        tools.append(Tool(_("监督查评"), "/inspections/", note))
    if scope.supervises:
        note = _("问卷设计，按近期办件抽样以短信、链接或二维码发放，回收率与按单位、事项的调查结果")
        tools.append(Tool(_("服务调查"), "/surveys/", note))
    if scope.supervises:
        note = _("导入第三方评估机构按单位、按期的评估结果（Excel/CSV 模板）")
        tools.append(Tool(_("第三方评估"), "/assessments/", note))
    if scope.supervises and scope.kind in ("all", "region"):
        note = _("向上级平台上报的积压、延迟和失败；下级平台登记与接收情况；文件投递")
        tools.append(Tool(_("数据交换"), "/exchange/", note))
    if scope.supervises:
        note = _("排队叫号系统对接：叫号、办结即推送窗口评价器，票号二维码评价；当天各大厅票号与评价情况")
        tools.append(Tool(_("排队叫号"), "/queue/", note))
    if scope.supervises:
        note = _("三键、四键按键评价器：型号与按键对应、设备登记，按设备类型统计满意度、差评率与超时未评")
        tools.append(Tool(_("按键评价器"), "/evaluator/legacy/", note))
    if scope.supervises:
        note = _("差评转派12345工单、热线状态回传与回访满意度；按地区配置对接地址")
        tools.append(Tool(_("12345热线对接"), "/hotline/", note))
    if scope.kind != "none" and not scope.read_only:
        tools.append(Tool(_("热线与纸质评价录入"), "/entry/", _("录入12345热线回访和纸质评价表，批量导入")))
    if scope.role == Role.WINDOW_STAFF or user.is_superuser:
        tools.append(Tool(_("评价器（窗口端）"), "/evaluator/clerk/", _("办结后推送“请评价”到本窗口评价器")))
    if may_read_audit(user, scope):
        note = _("谁在何时因何查看了评价人联系方式；目录、角色、密钥和配置的变更")
        tools.append(Tool(_("审计日志"), "/integrity/audit/", note))
    if settings.HAOCHAPING_SMS_BACKEND in ("console", "file") and console_allowed(scope):
        tools.append(Tool(_("短信控制台"), "/sms/console/", _("查看邀评短信，模拟群众回复")))
    tools.append(Tool(_("群众投诉入口"), "/cases/complaint/", _("公开的投诉表单，投诉与差评同样闭环处理")))
    tools.append(Tool(_("意见箱"), "/suggestions/", _("公开的意见建议表单，可不留联系方式，按投诉规则分派办理")))
    note = _("公众看到的评价结果、差评整改公开、开放数据和进度查询（无需登录）")
    tools.append(Tool(_("信息公开门户"), "/open/", note))
    tools.append(Tool(_("接口文档"), "/api/v1/docs", _("办件登记、评价提交与数据交换接口")))
    return tools
