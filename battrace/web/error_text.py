"""Error messages in the page's language: the platform's errors carry an English message and a
machine context; this gives the Chinese form with the same context (issue 16).

The English message stays the source of truth (the API and the CLI print it). Here the common
messages are recognised by their shape and re-said in Chinese with the same values: JSON syntax,
field errors of the event contract, battery codes, state transitions, custody, time order. A
message of an unknown shape is shown as the error code's Chinese label followed by the English
text, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from battrace.web.i18n import Translator

_JSON = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "属性名应使用双引号",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Extra data": "值之后有多余内容",
    "Unterminated string starting at": "字符串没有结束",
    "Invalid control character at": "含有无效的控制字符",
    "Invalid \\escape": "无效的转义字符",
}

#: Field messages of the event contract (battrace.domain.events): English pattern → Chinese.
_FIELD: tuple[tuple[str, str], ...] = (
    (r"is required.*", "是必填项"),
    (r"must be an object", "必须是一个对象"),
    (r"must be a number", "必须是数字"),
    (r"must be true or false", "必须是 true 或 false"),
    (r"must be one of (.+)", "必须是以下之一：{0}"),
    (r"must be an RFC 3339 timestamp with offset|is not an RFC 3339 timestamp",
     "必须是带时区的 RFC 3339 时间（如 2026-05-06T09:00:00+08:00）"),
    (r"needs a time-zone offset.*", "需要时区（中国时间为 +08:00）"),
    (r"must be an 18-character unified social credit code", "必须是 18 位统一社会信用代码"),
    (r"must be a 6-digit GB/T 2260 division code", "必须是 6 位行政区划代码（GB/T 2260）"),
    (r"must be a 17-character VIN", "必须是 17 位车辆识别代号"),
    (r"must be a battery code \(string\)", "必须是电池编码（字符串）"),
    (r"must be a non-empty list of battery codes", "必须是非空的电池编码列表"),
    (r"must be a non-empty string.*", "必须是非空字符串（最多 500 个字符）"),
    (r"lists a battery more than once", "重复列出了同一块电池"),
    (r"is not part of this event type.*", "不属于此事件类型（其他属性请放在 data 中）"),
    (r"is not a known event type.*", "不是已知的事件类型"),
    (r"must be (.+) and <= (.+)", "必须 {0} 且 ≤ {1}"),
)


def _event_type(t: Translator, value: str | None) -> str:
    return t.vocab("event", value) if value else ""


def json_message(t: Translator, msg: str) -> str:
    """Python's JSON decoder message (``Expecting value``) in the page's language."""
    if t.lang != "zh":
        return msg
    return next((zh for en, zh in _JSON.items() if msg.startswith(en)), msg)


def _json(t: Translator, m: re.Match[str]) -> str:
    return f"第 {m.group(1)} 行不是有效的 JSON：第 {m.group(3)} 列{json_message(t, m.group(2))}"


def _field(t: Translator, m: re.Match[str]) -> str | None:
    event_type, field, rest = m.group(1), m.group(2), m.group(3)
    for pattern, zh in _FIELD:
        found = re.fullmatch(pattern, rest)
        if found:
            head = f"{_event_type(t, event_type)}：" if event_type else ""
            return f"{head}字段 “{field}” " + zh.format(*found.groups())
    return None


def _code(t: Translator, m: re.Match[str]) -> str:
    from battrace.web.views import explain_invalid_code

    context = {"input": m.group(1), "position": int(m.group(2)) if m.group(2) else None,
               "character": m.group(3), "reason": m.group(4)}
    tail = m.group(5) or ""
    nearest = re.search(r"nearest valid readings?: (.+)$", tail)
    text = f"电池编码 “{m.group(1)}” 无效：{explain_invalid_code(t, context)}"
    return text + (f"；最接近的有效编码：{nearest.group(1)}" if nearest else "")


def _transition(t: Translator, m: re.Match[str]) -> str:
    event = _event_type(t, m.group(1))
    return f"{event}：电池 {m.group(2)} 当前状态为“{t.vocab('state', m.group(3))}”，此状态下不能{event}"


def _custodian(t: Translator, m: re.Match[str]) -> str:
    return (f"{_event_type(t, m.group(1))}：{m.group(2)} 不是电池 {m.group(3)} 的当前持有方"
            f"（持有方：{m.group(4)}）")


def _future(t: Translator, m: re.Match[str]) -> str:
    return f"{_event_type(t, m.group(1))}：发生时间 {m.group(2)} 晚于平台记录时间"


_SHAPES: tuple[tuple[re.Pattern[str], Callable[[Translator, re.Match[str]], str | None]], ...] = (
    (re.compile(r"line (\d+) is not valid JSON: (.+) \(column (\d+)\)"), _json),
    (re.compile(r"(?:([a-z_]+\.[a-z_]+): )?field '([^']+)' (.+)", re.S), _field),
    (re.compile(r"invalid battery code '([^']*)'(?: at position (\d+) \('(.)'\))?: ([^;]+)(;.*)?"), _code),
    (re.compile(r"([a-z_]+\.[a-z_]+): battery (\S+) is ([a-z_]+); cannot (.+)"), _transition),
    (re.compile(r"([a-z_]+\.[a-z_]+): (\S+) is not the custodian of (\S+) \(held by ([^)]+)\).*"), _custodian),
    (re.compile(r"([a-z_]+\.[a-z_]+): occurred_at (\S+) lies after the time it was recorded"), _future),
)


def error_text(t: Translator, code: str | None, message: str | None, context: Mapping[str, Any] | None = None
               ) -> str:
    """``message`` in the page's language (English pages: as it is)."""
    text = message or ""
    if t.lang != "zh" or not text:
        return text
    for pattern, say in _SHAPES:
        m = pattern.fullmatch(text.strip())
        if m:
            said = say(t, m)
            if said:
                return said
    label = t.vocab("error", code) if code else ""
    return f"{label}（原文：{text}）" if label and label != code else text
