"""Turn pydantic validation errors into the API's error list, with Chinese messages that name the field."""

from __future__ import annotations

from pydantic import ValidationError

# pydantic error type → message template (ctx values are filled in); unknown types keep pydantic's text.
_MESSAGES = {
    "missing": "必填字段缺失",
    "literal_error": "取值无效，可选值：{expected}",
    "enum": "取值无效，可选值：{expected}",
    "string_type": "应为字符串",
    "string_too_long": "长度不能超过{max_length}个字符",
    "string_too_short": "长度不能少于{min_length}个字符",
    "too_long": "条目过多，最多{max_length}条",
    "too_short": "条目过少，至少{min_length}条",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为布尔值 true/false",
    "bool_parsing": "应为布尔值 true/false",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "datetime_type": "应为 ISO 8601 日期时间",
    "datetime_parsing": "日期时间格式无效，应为 ISO 8601（如 2026-05-01T09:30:00+08:00）",
    "datetime_from_date_parsing": "日期时间格式无效，应为 ISO 8601（如 2026-05-01T09:30:00+08:00）",
    "greater_than_equal": "应不小于{ge}",
    "less_than_equal": "应不大于{le}",
    "extra_forbidden": "不支持的字段",
    "json_invalid": "请求体不是有效的JSON",
}

_SKIP_LOC = {"body", "payload", "query", "path", "data", "q"}


def error_list(errors: list[dict]) -> list[dict]:
    out = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in _SKIP_LOC)
        template = _MESSAGES.get(err.get("type", ""))
        if template:
            try:
                message = template.format(**(err.get("ctx") or {}))
            except (KeyError, IndexError):
                message = template
        else:
            message = str(err.get("msg", "无效")).removeprefix("Value error, ")
        out.append({"field": loc or None, "message": message})
    return out


def validation_errors(exc: ValidationError) -> list[dict]:
    return error_list(exc.errors())


def summary(errors: list[dict]) -> str:
    if not errors:
        return "请求无效"
    first = errors[0]
    return f"字段 {first['field']} 无效：{first['message']}" if first["field"] else first["message"]
