# ruff: noqa: E501  (a catalogue: one message a line reads best; CJK characters count double)
"""Message catalogues of the web console: Chinese (the default) and English.

Every visible string of the pages comes from here: :data:`MESSAGES` holds the sentences, keyed by
a dotted id, each as a ``(zh, en)`` pair so that neither language can be forgotten; the
vocabularies (states, event types, organisation types, rules …) are ``kind → value → (zh, en)``.
A :class:`Translator` is bound to one language per request and is what templates call as
``t("key", name=value)`` and ``v("state", "waste")``.

The language comes from ``?lang=zh|en`` (remembered in a cookie) or the cookie; Chinese otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from battrace.domain.codes import tables
from battrace.domain.reasons import REASON_LABELS
from battrace.domain.rules.registry import all_rules

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "bt_lang"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

MESSAGES: dict[str, tuple[str, str]] = {
    # -- frame --------------------------------------------------------------------------------
    "app.name": ("电池溯源", "battrace"),
    "app.tagline": ("新能源汽车动力电池数字身份与全生命周期溯源平台",
                    "Digital ID and lifecycle traceability for EV power batteries"),
    "nav.lookup": ("电池查询", "Battery lookup"),
    "nav.dashboard": ("监管看板", "Regulator dashboard"),
    "nav.console": ("企业控制台", "Organisation console"),
    "nav.login": ("登录", "Sign in"),
    "nav.logout": ("退出", "Sign out"),
    "nav.admin": ("平台管理员", "Platform admin"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "lang.label": ("语言", "Language"),
    "footer.law": ("依据《新能源汽车废旧动力电池回收和综合利用管理暂行办法》（2026 年 4 月 1 日起施行）及 GB/T 34014 编码规则",
                   "Under China's Interim Measures for the recycling of waste NEV power batteries (in force "
                   "1 April 2026) and the GB/T 34014 coding rules"),
    "footer.echarts": ("图表由 Apache ECharts {version} 绘制", "Charts drawn with Apache ECharts {version}"),
    "footer.api": ("API 文档", "API docs"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.none": ("—", "—"),
    "common.no_data": ("暂无数据", "No data"),
    "common.unknown": ("未知", "unknown"),
    "common.pending_engine": ("合规引擎尚未提供该数据", "The compliance engine does not provide this data yet"),
    "common.of_total": ("共 {n} 条", "{n} in all"),
    "common.batteries": ("块电池", "batteries"),
    "common.count": ("数量", "count"),
    "common.show": ("查看", "view"),
    # -- lookup -------------------------------------------------------------------------------
    "index.title": ("查询电池数字身份", "Look up a battery's digital ID"),
    "index.lead": ("输入电池包、模块或单体上的 24 位编码（GB/T 34014，再制造产品为 17 位），也可以粘贴标签上的整段文字。",
                   "Enter the 24-character code printed on a pack, module or cell (GB/T 34014; 17 for a "
                   "re-made product), or paste the whole text of its label."),
    "index.placeholder": ("电池编码或标签文字", "Battery code or label text"),
    "index.submit": ("查询", "Look up"),
    "index.question": ("是否为退役动力电池？", "Is this a retired EV battery?"),
    "index.question_help": ("购买电动自行车电池或储能电池前，先查一查它的编码：平台会告诉您它是否来自退役的新能源汽车动力电池。"
                            "退役动力电池不得用于电动自行车。",
                            "Before you buy an e-bike or storage battery, look its code up: the platform tells "
                            "you whether it comes from a retired EV battery. Retired EV batteries must never "
                            "be used in e-bikes."),
    "index.card.id.title": ("一电一码", "One battery, one code"),
    "index.card.id.text": ("每个电池包、模块和单体都有唯一编码，数字身份随每个事件更新。",
                           "Every pack, module and cell has a unique code; its digital ID changes with "
                           "every event."),
    "index.card.life.title": ("全生命周期", "The whole lifecycle"),
    "index.card.life.text": ("生产、装车、换电、维修、报废、回收、再制造与再生利用，全链条可追溯。",
                             "Production, installation, swaps, repairs, scrapping, collection, re-making and "
                             "recycling, traceable end to end."),
    "index.card.rules.title": ("合规监管", "Supervision"),
    "index.card.rules.text": ("监管部门按辖区查看流向、逾期上报和违规问题。",
                              "Regulators follow flows, late reports and violations within their jurisdiction."),
    "lookup.invalid_title": ("编码无效", "Invalid code"),
    "lookup.invalid": ("“{input}” 不是有效的电池编码：{reason}。", "“{input}” is not a valid battery code: {reason}."),
    "lookup.not_found_title": ("平台上没有这块电池的记录", "The platform has no record of this battery"),
    "lookup.not_found": ("编码 {code} 格式有效，但平台上没有它的记录，无法确认它的来源和是否退役。请谨慎购买来历不明的电池。",
                         "The code {code} is well formed, but the platform has no record of it, so its origin "
                         "and whether it was retired cannot be confirmed. Be careful with batteries of unknown "
                         "origin."),
    "lookup.decoded": ("编码本身包含的信息", "What the code itself says"),
    "lookup.found_in_label": ("已从标签文字中识别出编码 {code}。", "Found the code {code} in the label text."),
    "lookup.empty": ("请输入电池编码。", "Please enter a battery code."),
    "code.length": ("长度为 {n} 位，应为 24 位（再制造产品为 17 位）",
                    "it has {n} characters; a code has 24 (17 for a re-made product)"),
    "code.charset": ("第 {position} 位 “{char}”：只允许数字和大写字母",
                     "position {position} ('{char}'): only digits and upper-case letters are allowed"),
    "code.level": ("第 {position} 位 “{char}”：产品类型应为 P（电池包）、M（模块）或 C（单体）",
                   "position {position} ('{char}'): the product level must be P (pack), M (module) or C (cell)"),
    "code.type": ("第 {position} 位 “{char}”：未知的电池类型代码", "position {position} ('{char}'): unknown battery type"),
    "code.year": ("第 {position} 位 “{char}”：不是有效的生产年份代码",
                  "position {position} ('{char}'): not a production-year character"),
    "code.month": ("第 {position} 位 “{char}”：不是有效的生产月份代码（1–9、A–C）",
                   "position {position} ('{char}'): not a production-month character (1-9, A-C)"),
    "code.day": ("第 {position} 位 “{char}”：不是有效的生产日代码",
                 "position {position} ('{char}'): not a production-day character"),
    "code.no_such_day": ("第 {position} 位 “{char}”：该月没有这一天",
                         "position {position} ('{char}'): that month has no such day"),
    "code.other": ("第 {position} 位 “{char}”", "position {position} ('{char}')"),
    "code.field.manufacturer": ("生产企业代码", "Manufacturer code"),
    "code.field.level": ("产品类型", "Product level"),
    "code.field.battery_type": ("电池类型", "Battery type"),
    "code.field.spec": ("规格代码", "Specification code"),
    "code.field.trace": ("追溯信息代码", "Traceability code"),
    "code.field.production_date": ("生产日期", "Production date"),
    "code.field.serial": ("序列号", "Serial number"),
    "code.field.remade": ("再制造产品编码", "Re-made product code"),
    # -- battery page -------------------------------------------------------------------------
    "battery.title": ("电池 {code}", "Battery {code}"),
    "battery.verdict.retired": ("是，这是一块退役动力电池", "Yes — this is a retired EV battery"),
    "battery.verdict.retired_help": ("它已离开新能源汽车使用，应交由正规回收服务网点或综合利用企业处理；退役动力电池不得用于电动自行车。",
                                     "It has left EV service for good and belongs with a registered collection "
                                     "outlet or utilisation company; retired EV batteries must never be used in "
                                     "e-bikes."),
    "battery.verdict.remade": ("这是由退役动力电池再制造的电池产品", "This is a battery product re-made from retired EV batteries"),
    "battery.verdict.remade_help": ("用途：{application}；认证：{certification}。退役动力电池及其再制造产品不得用于电动自行车。",
                                    "Application: {application}; certification: {certification}. Retired EV "
                                    "batteries and products re-made from them must never be used in e-bikes."),
    "battery.verdict.active": ("否，平台记录显示它尚未退役", "No — the platform's records show it has not been retired"),
    "battery.verdict.active_help": ("当前状态：{state}。", "Current state: {state}."),
    "battery.section.identity": ("身份信息", "Identity"),
    "battery.section.timeline": ("生命周期", "Lifecycle"),
    "battery.section.lineage": ("谱系", "Lineage"),
    "battery.section.health": ("健康状态", "Health"),
    "battery.section.qr": ("二维码", "QR code"),
    "battery.section.findings": ("合规问题", "Compliance findings"),
    "battery.section.vehicle": ("车辆", "Vehicle"),
    "battery.section.alarms": ("BMS 预警", "BMS alarms"),
    "battery.tier": ("访问级别：{tier}", "Access tier: {tier}"),
    "battery.public_note": ("您看到的是公开信息。电池的参与企业和辖区监管部门登录后可查看完整履历。",
                            "You are seeing the public tier. The battery's participants and the regulators of "
                            "its jurisdiction see its full history after signing in."),
    "battery.audited": ("本次查看已记入审计日志。", "This read was recorded in the audit log."),
    "battery.stage.produced": ("生产", "Produced"),
    "battery.stage.vehicle": ("装车使用", "In a vehicle"),
    "battery.stage.retired": ("退役", "Retired"),
    "battery.stage.utilised": ("综合利用", "Utilised"),
    "battery.stages": ("生命周期阶段", "Lifecycle stages"),
    "field.code": ("电池编码", "Battery code"),
    "field.maker": ("生产企业", "Maker"),
    "field.model": ("型号", "Model"),
    "field.chemistry": ("化学体系", "Chemistry"),
    "field.level": ("产品层级", "Level"),
    "field.rated_capacity": ("额定容量", "Rated capacity"),
    "field.rated_energy": ("额定能量", "Rated energy"),
    "field.nominal_voltage": ("标称电压", "Nominal voltage"),
    "field.mass": ("质量", "Mass"),
    "field.production_month": ("生产年月", "Production month"),
    "field.state": ("当前状态", "Current state"),
    "field.custodian": ("当前持有方", "Held by"),
    "field.pending_to": ("待接收方", "Awaiting receipt by"),
    "field.vin": ("车辆识别代号", "VIN"),
    "field.vehicle_model": ("车型", "Vehicle model"),
    "field.waste_since": ("退役时间", "Retired on"),
    "field.application": ("用途", "Application"),
    "field.certification": ("认证", "Certification"),
    "field.retired": ("退役动力电池", "Retired EV battery"),
    "field.remade": ("再制造产品", "Re-made product"),
    "field.version": ("版本（事件数）", "Version (events)"),
    "field.head": ("哈希链头", "Hash-chain head"),
    "timeline.produced": ("{month} 生产", "Produced in {month}"),
    "timeline.retired": ("已退役：离开电动汽车使用", "Retired: left EV service"),
    "timeline.remade": ("再制造为新的电池产品", "Re-made into a new battery product"),
    "timeline.current": ("当前状态：{state}", "Now: {state}"),
    "timeline.reported_by": ("报告方：{org}", "Reported by {org}"),
    "timeline.imported": ("历史导入", "imported history"),
    "timeline.recorded": ("平台记录于 {at}", "recorded {at}"),
    "timeline.late": ("记录时间晚于发生时间 {days} 天", "recorded {days} days after it happened"),
    "timeline.in_pack": ("属于电池包 {pack}", "Part of pack {pack}"),
    "timeline.pack_retired": ("所属电池包 {pack} 已于 {date} 退役", "Its pack {pack} retired on {date}"),
    "detail.to": ("移交给 {org}", "to {org}"),
    "detail.from": ("来自 {org}", "from {org}"),
    "detail.vin": ("车辆 {vin}", "vehicle {vin}"),
    "detail.removed": ("拆下 {code}", "removed {code}"),
    "detail.installed": ("装上 {code}", "installed {code}"),
    "detail.reason": ("原因：{reason}", "reason: {reason}"),
    "detail.soh": ("SOH {soh}", "SOH {soh}"),
    "detail.application": ("用途：{application}", "application: {application}"),
    "detail.process": ("工艺：{process}", "process: {process}"),
    "detail.components": ("{n} 个部件", "{n} components"),
    "detail.sources": ("来源电池 {n} 块", "{n} source batteries"),
    "detail.batteries": ("电池 {n} 块", "{n} batteries"),
    "detail.product": ("产品 {code}", "product {code}"),
    "detail.customer": ("客户：{customer}", "customer: {customer}"),
    "detail.certificate": ("证书编号 {no}", "certificate {no}"),
    "detail.missing": ("未发现电池包", "no pack found in the vehicle"),
    "lineage.parent": ("所属上级", "Part of"),
    "lineage.children": ("组成部件", "Made of"),
    "lineage.sources": ("再制造来源", "Re-made from"),
    "lineage.products": ("再制造产品", "Re-made into"),
    "lineage.none": ("没有谱系记录", "No lineage on record"),
    "lineage.locked": ("谱系信息向电池的参与企业和监管部门开放。", "Lineage is open to the battery's participants and regulators."),
    "health.soh": ("健康度 (SOH)", "State of health (SOH)"),
    "health.measured_capacity": ("实测容量", "Measured capacity"),
    "health.resistance": ("内阻", "Internal resistance"),
    "health.method": ("检测方法", "Method"),
    "health.tested_at": ("检测时间", "Tested on"),
    "health.tested_by": ("检测单位", "Tested by"),
    "health.none": ("尚无检测记录", "No health test on record"),
    "health.locked": ("健康数据向电池的参与企业和监管部门开放。", "Health data are open to the battery's participants and regulators."),
    "health.threshold": ("容量低于额定值的 80% 时，电池通常不再适合车用。",
                         "Below 80 % of its rated capacity a pack usually no longer serves an EV."),
    "health.interval": ("90% 区间 {low} – {high}", "90 % interval {low} – {high}"),
    "health.grade": ("等级 {grade}", "Grade {grade}"),
    "health.grade_help": ("A ≥ 80%，B ≥ 70%，C ≥ 60%，D < 60%", "A ≥ 80 %, B ≥ 70 %, C ≥ 60 %, D below 60 %"),
    "health.decision": ("判定结果", "Grading decision"),
    "health.judged_on": ("按 {soh} 判定", "judged on {soh}"),
    "health.judged_on_low": ("按脉冲估算区间下限 {soh} 判定", "judged on the pulse estimate's lower bound, {soh}"),
    "health.applications": ("允许的梯次利用用途", "Allowed re-use applications"),
    "health.value": ("残值估算", "Residual value"),
    "health.material_value": ("材料回收价值", "Material value"),
    "health.reuse_value": ("梯次利用价值", "Re-use value"),
    "health.better_path": ("更优路径", "Better path"),
    "health.residual": ("残值", "Residual value"),
    "health.reuse_not_allowed": ("{amount}（不允许梯次利用，不计入）", "{amount} (re-use not allowed, not counted)"),
    "health.no_materials": ("没有该化学体系的材料数据", "no materials data for this chemistry"),
    "health.value_note": ("按 {date} 的参考金属价格与回收率估算（材料价值未扣除处理成本），不构成报价。",
                          "Estimated from indicative metal prices of {date} and recovery rates (material value before "
                          "processing costs); not a quotation."),
    "health.no_energy": ("平台上没有额定能量，无法估算残值。", "No rated energy on record, so no value can be estimated."),
    "health.summary_error": ("记录的检测数据无法判定。", "The recorded test cannot be graded."),
    "money.cny": ("{amount} 元", "CNY {amount}"),
    "alarms.note": ("由车辆 BMS 数据触发的预警（GB/T 45688、GB 38031），最新的在前。",
                    "Early warnings raised from the vehicle's BMS data (GB/T 45688, GB 38031), newest first."),
    "alarms.none": ("没有预警记录", "No alarms on record"),
    "alarms.level": ("级别", "Level"),
    "alarms.level_n": ("{n} 级", "level {n}"),
    "alarms.hazard": ("风险", "Hazard"),
    "alarms.first_seen": ("首次出现", "First seen"),
    "alarms.last_seen": ("最近出现", "Last seen"),
    "alarms.response": ("处置要求", "Required response"),
    "alarms.respond_by": ("处置期限", "Respond by"),
    "alarms.evidence": ("依据", "Evidence"),
    "alarms.more": ("只列出最新的 {n} 条。", "Only the {n} newest are listed."),
    "qr.caption": ("扫码打开本页", "Scan to open this page"),
    "qr.label": ("下载可打印标签 (SVG)", "Download a printable label (SVG)"),
    "findings.rule": ("规则", "Rule"),
    "findings.severity": ("级别", "Severity"),
    "findings.message": ("问题", "Finding"),
    "findings.state": ("状态", "State"),
    "findings.raised": ("发现时间", "Raised"),
    "findings.due": ("整改期限", "Due"),
    "findings.subject": ("对象", "Subject"),
    "findings.responsible": ("责任方", "Responsible"),
    "findings.none": ("没有合规问题", "No findings"),
    "findings.overdue_days": ("已逾期 {days} 天", "{days} days overdue"),
    # -- sign in ------------------------------------------------------------------------------
    "login.title": ("登录", "Sign in"),
    "login.lead": ("请输入贵单位的 API 密钥（以 bt_ 开头）。密钥只保存在本浏览器的 HttpOnly Cookie 中，页面脚本无法读取。",
                   "Enter your organisation's API key (it starts with bt_). It is kept only in an HttpOnly "
                   "cookie of this browser, out of reach of page scripts."),
    "login.key": ("API 密钥", "API key"),
    "login.submit": ("登录", "Sign in"),
    "login.invalid": ("密钥无效或已被吊销。", "The key is unknown or was revoked."),
    "login.need_regulator": ("监管看板仅对监管部门和平台管理员开放。", "The dashboard is for regulators and the platform admin."),
    "login.need_org": ("企业控制台需要企业的密钥。", "The console needs an organisation's key."),
    "login.signed_in_as": ("已登录：{name}", "Signed in as {name}"),
    "login.where": ("登录后：监管部门进入监管看板，企业进入企业控制台。",
                    "After signing in, regulators go to the dashboard and organisations to their console."),
    # -- dashboard ----------------------------------------------------------------------------
    "dashboard.title": ("监管看板", "Regulator dashboard"),
    "dashboard.national": ("全国", "National"),
    "dashboard.scope": ("范围：{scope}", "Scope: {scope}"),
    "dashboard.as_of": ("数据截至 {at}", "Data as of {at}"),
    "kpi.packs": ("电池包", "Packs"),
    "kpi.in_service": ("在用", "In service"),
    "kpi.retired": ("已退役电池包", "Retired packs"),
    "kpi.retired_12m": ("近 12 个月退役", "Retired, last 12 months"),
    "kpi.open_findings": ("未整改问题", "Open findings"),
    "kpi.across": ("跨省流转电池", "Batteries moved across provinces"),
    "chart.by_state": ("电池包状态分布", "Packs by state"),
    "chart.retirements": ("每月退役数量", "Retirements per month"),
    "chart.retirements_series": ("退役", "retired"),
    "chart.flows": ("废旧电池跨省流向", "Waste-battery flows between provinces"),
    "chart.flows_note": ("左侧为移出省份，右侧为接收省份，按电池数量计（含省内流转）。",
                         "Senders on the left, receivers on the right, counted in batteries (flows within a "
                         "province included)."),
    "chart.flows_out": ("移出", "out"),
    "chart.flows_in": ("接收", "in"),
    "chart.findings": ("各省合规问题（按规则）", "Findings by province and rule"),
    "chart.findings_unplaced": ("未定位", "unplaced"),
    "chart.forecast": ("退役量预测（按省份、年份）", "Retirement forecast by province and year"),
    "chart.forecast_note": ("由各省装车数量按韦布尔寿命分布推算（形状 {shape}，尺度 {scale} 年，平均寿命 {mean} 年），单位：电池包。",
                            "From the packs installed per province, with a Weibull service life (shape {shape}, scale "
                            "{scale} years, mean {mean} years); in packs."),
    "chart.forecast_axis": ("电池包", "packs"),
    "chart.forecast_national": ("全国合计", "National total"),
    "chart.forecast_total": ("辖区合计", "Total in scope"),
    "chart.forecast_other": ("其他省份", "other provinces"),
    "chart.forecast_unplaced": ("省份未知", "province unknown"),
    "chart.forecast_mark": ("{year} 年公布：> {kt} 千吨", "{year} published: > {kt} kt"),
    "forecast.check": ("对照公布数字", "Check against the published figures"),
    "forecast.check_note": ("按每包 {kg} kg 折算重量。公布数字包含生产废料等全部废旧电池，仅由车辆退役推算的结果通常偏低。",
                            "At {kg} kg a pack. The published figures count all waste batteries (production scrap "
                            "included), so vehicle retirements alone are expected to fall short."),
    "forecast.year": ("年份", "Year"),
    "forecast.packs": ("预测退役（包）", "Forecast (packs)"),
    "forecast.kt": ("折合（千吨）", "≈ kilotonnes"),
    "forecast.published": ("公布数字", "Published figure"),
    "forecast.ratio": ("预测 ÷ 公布", "Forecast ÷ published"),
    "forecast.ref": ("超过 {kt} 千吨", "more than {kt} kt"),
    "forecast.ref_2025": ("2025 年综合利用的废旧动力电池超过 {kt} 千吨", "more than {kt} kt of waste power batteries utilised in 2025"),
    "forecast.ref_2030": ("到 2030 年每年产生的废旧动力电池超过 {kt} 千吨", "more than {kt} kt of waste power batteries a year by 2030"),
    "forecast.provincial": ("与全国公布数字的对照只在全国范围显示（未公布各省份额）。",
                            "The check against the published national figures is shown at national scope only (no "
                            "provincial share is published)."),
    "forecast.unavailable": ("无法计算退役量预测：{reason}", "The retirement forecast cannot be made: {reason}"),
    "table.overdue": ("逾期未报", "Overdue reports"),
    "table.overdue_note": ("已过上报期限仍未完成的后续报告（规则 R04b），最早到期的在前。",
                           "Follow-up reports still missing after their deadline (rule R04b), earliest first."),
    "table.league": ("企业按时上报排行", "On-time reporting by organisation"),
    "table.league_note": ("按时率 = 1 − 逾期上报（R04）÷ 上报事件数。",
                          "On-time rate = 1 − late reports (R04) ÷ events reported."),
    "league.worst": ("按时率低的在前", "Worst first"),
    "league.best": ("按时率高的在前", "Best first"),
    "league.min_events": ("仅统计上报事件不少于 {n} 条的企业。", "Only organisations with at least {n} events are ranked."),
    "league.org": ("企业", "Organisation"),
    "league.type": ("类型", "Type"),
    "league.region": ("省份", "Province"),
    "league.events": ("上报事件", "Events"),
    "league.late": ("逾期上报", "Late (R04)"),
    "league.rate": ("按时率", "On time"),
    # -- console ------------------------------------------------------------------------------
    "console.title": ("企业控制台", "Organisation console"),
    "console.my_batteries": ("我持有的电池", "Batteries we hold"),
    "console.no_batteries": ("目前没有持有的电池。", "We hold no batteries at the moment."),
    "console.page": ("第 {page} / {pages} 页", "page {page} of {pages}"),
    "console.prev": ("上一页", "Previous"),
    "console.next": ("下一页", "Next"),
    "console.findings": ("我的未整改问题", "Our open findings"),
    "console.upload": ("上报事件文件", "Report an events file"),
    "console.upload_help": ("上传 JSON Lines（每行一个事件，.jsonl）或 CSV 文件。报告方一律为当前密钥所属企业；每一行单独受理、判为重复或拒绝。",
                            "Upload JSON Lines (one event a line, .jsonl) or a CSV file. The reporter is "
                            "always your key's organisation; each line is accepted, a duplicate or rejected "
                            "on its own."),
    "console.file": ("文件", "File"),
    "console.choose": ("选择文件", "Choose a file"),
    "console.no_file": ("未选择文件", "No file chosen"),
    "console.submit": ("上传并上报", "Upload and report"),
    "console.admin": ("平台管理员没有企业控制台，请使用监管看板。", "The platform admin has no console; use the dashboard."),
    "console.org_info": ("{type} · 统一社会信用代码 {code}", "{type} · unified social credit code {code}"),
    "console.by_state": ("按状态", "By state"),
    "console.last_event": ("最近事件", "Last event"),
    "results.title": ("上报结果：{name}", "Report results: {name}"),
    "results.summary": ("共 {total} 行：受理 {accepted}，重复 {duplicate}，拒绝 {rejected}。",
                        "{total} lines: {accepted} accepted, {duplicate} duplicates, {rejected} rejected."),
    "results.line": ("行号", "Line"),
    "results.event_id": ("事件编号", "Event id"),
    "results.status": ("结果", "Result"),
    "results.detail": ("说明", "Detail"),
    "results.truncated": ("只列出前 {n} 行（拒绝的行全部列出）。", "Only the first {n} lines are listed (every rejected line is)."),
    "results.seq": ("序号 {seq}", "seq {seq}"),
    "upload.empty": ("文件是空的。", "The file is empty."),
    "upload.too_large": ("文件超过 {mb} MB。", "The file is larger than {mb} MB."),
    "upload.not_utf8": ("文件不是 UTF-8 编码。", "The file is not UTF-8."),
    "upload.not_utf8_line": ("文件第 {line} 行不是 UTF-8 编码。", "Line {line} of the file is not UTF-8."),
    "upload.unreadable": ("文件无法读取：{message}", "The file cannot be read: {message}"),
    "upload.too_many": ("一次最多上报 {limit} 个事件，文件中有 {n} 个。", "An upload may carry at most {limit} events; the file has {n}."),
    "upload.csrf": ("表单已过期，请刷新页面后重试。", "The form has expired; reload the page and try again."),
    "upload.bad_json": ("第 {line} 行不是有效的 JSON：{message}", "line {line} is not valid JSON: {message}"),
    "upload.reporter": ("第 {line} 行的报告方为 {named}，但报告方只能是当前密钥所属企业 {org}",
                        "line {line} names reporter {named}; the reporter is always your key's organisation {org}"),
    # -- errors -------------------------------------------------------------------------------
    "error.title": ("出错了", "Something went wrong"),
    "error.status": ("错误 {status}", "Error {status}"),
    "error.back": ("返回电池查询", "Back to battery lookup"),
    "error.detail": ("详细信息", "Details"),
}

def rule_titles() -> dict[str, tuple[str, str]]:
    """Each rule's title (zh, en), as registered with the rule (:class:`~battrace.domain.rules.registry.Rule`)."""
    return {r.id: (r.title_zh, r.title_en) for r in all_rules()}


VOCABULARY: dict[str, dict[str, tuple[str, str]]] = {
    "state": {
        "produced": ("已生产", "produced"),
        "assembled": ("已组装", "assembled"),
        "installed": ("已装车", "installed"),
        "in_service": ("使用中", "in service"),
        "swap_stock": ("换电站库存", "swap stock"),
        "waste": ("废旧电池", "waste"),
        "in_transit": ("移交途中", "in transit"),
        "remade": ("已再制造", "re-made"),
        "dismantled": ("已拆解", "dismantled"),
        "recycled": ("已再生利用", "recycled"),
        "missing": ("丢失", "missing"),
    },
    "event": {
        "battery.produced": ("生产", "Produced"),
        "battery.assembled": ("组装", "Assembled"),
        "techinfo.filed": ("拆解信息备案", "Dismantling information filed"),
        "vehicle.certified": ("装车并出具合格证", "Installed; vehicle certified"),
        "vehicle.sold": ("车辆销售", "Vehicle sold"),
        "battery.swapped": ("换电", "Swapped"),
        "battery.replaced": ("维修更换", "Replaced"),
        "battery.repaired": ("维修", "Repaired"),
        "vehicle.scrapped": ("车辆报废", "Vehicle scrapped"),
        "battery.removed": ("从报废车辆拆卸", "Removed from a scrapped vehicle"),
        "battery.handed_over": ("移交", "Handed over"),
        "battery.received": ("接收", "Received"),
        "battery.tested": ("健康检测", "Health test"),
        "battery.remanufactured": ("再制造", "Re-made"),
        "product.delivered": ("产品交付", "Product delivered"),
        "battery.dismantled": ("拆解", "Dismantled"),
        "battery.recycled": ("再生利用", "Recycled"),
        "battery.reported_missing": ("报告丢失", "Reported missing"),
        "battery.discarded": ("生产报废", "Discarded (production scrap)"),
        "product.returned": ("产品退回", "Product returned"),
    },
    "org_type": {
        "battery_maker": ("动力电池企业", "battery maker"),
        "vehicle_maker": ("新能源汽车生产企业", "vehicle maker"),
        "swap_operator": ("换电运营企业", "swap operator"),
        "repair_shop": ("机动车维修企业", "repair shop"),
        "dismantler": ("报废机动车回收拆解企业", "vehicle dismantler"),
        "collection_outlet": ("回收服务网点", "collection outlet"),
        "reuse_enterprise": ("综合利用企业（再制造）", "utilisation company (re-use)"),
        "recycler": ("综合利用企业（再生利用）", "utilisation company (recycling)"),
        "regulator": ("主管部门", "regulator"),
    },
    "vehicle_state": {"certified": ("已出具合格证", "certified"), "sold": ("已销售", "sold"),
                      "scrapped": ("已报废", "scrapped")},
    "level": {"P": ("电池包", "pack"), "M": ("模块", "module"), "C": ("单体", "cell")},
    "application": {
        "energy_storage": ("储能", "energy storage"),
        "backup_power": ("备用电源", "backup power"),
        "charging_station": ("充换电站", "charging station"),
        "low_speed_vehicle": ("低速车", "low-speed vehicle"),
        "e_bike": ("电动自行车", "e-bike"),
        "other": ("其他", "other"),
    },
    "process": {"hydro": ("湿法", "hydrometallurgy"), "pyro": ("火法", "pyrometallurgy"),
                "direct": ("直接回收", "direct recycling")},
    "method": {"gbt34015": ("GB/T 34015 完整容量测试", "GB/T 34015 full capacity test"),
               "pulse": ("脉冲快速检测", "pulse test")},
    "rule": rule_titles(),  # one source: the rule registry (battrace/domain/rules)
    "severity": {"violation": ("违规", "violation"), "warning": ("警告", "warning"), "notice": ("提示", "notice")},
    "path": {"reuse": ("梯次利用候选", "re-use candidate"), "recycle": ("材料再生利用", "material recycling")},
    "hazard": {
        "over_temperature": ("温度过高", "over-temperature"),
        "cell_over_voltage_charging": ("充电时单体过压", "cell over-voltage while charging"),
        "cell_under_voltage_discharging": ("放电时单体欠压", "cell under-voltage while discharging"),
        "cell_voltage_spread_charging": ("充电时单体压差过大", "cell voltage spread while charging"),
        "low_insulation": ("绝缘电阻过低", "low insulation resistance"),
        "voltage_sampling_fault": ("电压采样异常", "voltage sampling fault"),
        "long_offline": ("长时间离线", "offline too long"),
        "thermal_runaway": ("热失控", "thermal runaway"),
        "bms_level_1": ("BMS 一级报警", "BMS level-1 alarm"),
        "bms_level_2": ("BMS 二级报警", "BMS level-2 alarm"),
        "bms_level_3": ("BMS 三级报警", "BMS level-3 alarm"),
    },
    "response": {
        "within_7_days": ("7 天内维修", "repair within 7 days"),
        "within_1_day": ("1 天内维修", "repair within 1 day"),
        "stop_at_once": ("立即停止使用", "stop at once"),
    },
    "alarm_flag": {
        "temperature_difference": ("温度差异报警", "temperature difference"),
        "battery_high_temperature": ("电池高温报警", "battery high temperature"),
        "energy_storage_over_voltage": ("储能装置过压报警", "energy storage over-voltage"),
        "energy_storage_under_voltage": ("储能装置欠压报警", "energy storage under-voltage"),
        "soc_low": ("SOC 低报警", "SOC low"),
        "cell_over_voltage": ("单体电池过压报警", "cell over-voltage"),
        "cell_under_voltage": ("单体电池欠压报警", "cell under-voltage"),
        "soc_too_high": ("SOC 过高报警", "SOC too high"),
        "soc_jump": ("SOC 跳变报警", "SOC jump"),
        "energy_storage_mismatch": ("可充电储能系统不匹配报警", "energy storage mismatch"),
        "poor_cell_consistency": ("电池单体一致性差报警", "poor cell consistency"),
        "insulation": ("绝缘报警", "insulation"),
        "dcdc_temperature": ("DC-DC 温度报警", "DC-DC temperature"),
        "brake_system": ("制动系统报警", "brake system"),
        "dcdc_status": ("DC-DC 状态报警", "DC-DC status"),
        "motor_controller_temperature": ("驱动电机控制器温度报警", "motor controller temperature"),
        "high_voltage_interlock": ("高压互锁状态报警", "high-voltage interlock"),
        "drive_motor_temperature": ("驱动电机温度报警", "drive motor temperature"),
        "energy_storage_over_charge": ("车载储能装置过充", "energy storage over-charge"),
    },
    "evidence": {
        "max_temp_c": ("最高温度 (°C)", "max temperature (°C)"),
        "limit_c": ("限值 (°C)", "limit (°C)"),
        "probe": ("探针", "probe"),
        "max_cell_v": ("最高单体电压 (V)", "max cell voltage (V)"),
        "min_cell_v": ("最低单体电压 (V)", "min cell voltage (V)"),
        "cell": ("单体", "cell"),
        "cells": ("单体", "cells"),
        "voltages_v": ("电压 (V)", "voltages (V)"),
        "median_cell_v": ("单体电压中位数 (V)", "median cell voltage (V)"),
        "limit_v": ("限值 (V)", "limit (V)"),
        "rms_spread_v": ("压差均方根 (V)", "RMS spread (V)"),
        "window_frames": ("窗口帧数", "window (frames)"),
        "ohm_per_v": ("绝缘电阻 (Ω/V)", "insulation (Ω/V)"),
        "frames_in_window": ("24 小时内帧数", "frames in 24 h"),
        "limit_ohm_per_v": ("限值 (Ω/V)", "limit (Ω/V)"),
        "rise_c_per_s": ("温升速率 (°C/s)", "temperature rise (°C/s)"),
        "rising_for_s": ("持续时间 (s)", "rising for (s)"),
        "voltage_drop": ("电压降", "voltage drop"),
        "max_operating_temp_c": ("最高工作温度 (°C)", "max operating temperature (°C)"),
        "last_frame_at": ("上一帧时间", "last frame at"),
        "days": ("离线天数", "days offline"),
        "limit_days": ("限值（天）", "limit (days)"),
        "flags": ("报警标志", "alarm flags"),
        "other_hazards_24h": ("24 小时内其他风险", "other hazards within 24 h"),
    },
    "finding_state": {"open": ("未整改", "open"), "resolved": ("已整改", "resolved")},
    "outcome": {"accepted": ("受理", "accepted"), "duplicate": ("重复", "duplicate"), "rejected": ("拒绝", "rejected")},
    "tier": {"public": ("公开", "public"), "participant": ("参与方", "participant"),
             "regulator": ("监管", "regulator"), "admin": ("平台管理员", "platform admin")},
    "error": {
        "invalid_input": ("输入无效", "Invalid input"),
        "invalid_code": ("电池编码无效", "Invalid battery code"),
        "invalid_vin": ("车辆识别代号无效", "Invalid VIN"),
        "invalid_credit_code": ("统一社会信用代码无效", "Invalid credit code"),
        "invalid_event": ("事件无效", "Invalid event"),
        "invalid_csv": ("CSV 文件有误", "Invalid CSV"),
        "invalid_health_input": ("健康数据无效", "Invalid health data"),
        "not_found": ("没有找到", "Not found"),
        "unknown_battery": ("平台上没有这块电池", "Unknown battery"),
        "unknown_vehicle": ("平台上没有这辆车", "Unknown vehicle"),
        "unknown_org": ("未登记的企业", "Unknown organisation"),
        "conflict": ("冲突", "Conflict"),
        "duplicate_code": ("编码重复", "Duplicate code"),
        "already_assembled": ("已组装在其他上级中", "Already assembled elsewhere"),
        "invalid_transition": ("当前状态下不能发生此事件", "Impossible in the battery's state"),
        "event_id_conflict": ("事件编号已用于其他内容", "Event id already used"),
        "unknown_manufacturer": ("生产企业代码未登记", "Unregistered manufacturer code"),
        "forbidden": ("无权操作", "Forbidden"),
        "not_custodian": ("不是当前持有方", "Not the custodian"),
        "forbidden_event": ("无权上报此事件", "May not report this event"),
        "unauthorized": ("需要登录", "Sign-in required"),
        "payload_too_large": ("数据过多", "Too much at once"),
        "log_tampered": ("事件日志校验失败", "Event log tampered"),
        "storage_unavailable": ("数据库暂不可用", "Database unavailable"),
        "internal_error": ("内部错误", "Internal error"),
        "method_not_allowed": ("不支持的请求方法", "Method not allowed"),
        "bad_request": ("请求有误", "Bad request"),
        "implausible_time": ("时间不合理（早于 2000 年或晚于平台当前时间）", "Implausible time (before 2000 or ahead of the clock)"),
        "nesting_too_deep": ("嵌套层级过深", "Nested too deep"),
        "event_too_large": ("事件过大", "Event too large"),
        "number_out_of_range": ("数值超出范围", "Number out of range"),
        "non_finite_number": ("数值不是有限数（NaN/Infinity）", "Not a finite number (NaN/Infinity)"),
        "forbidden_character": ("含控制字符或不可见字符", "Control or invisible character"),
        "lone_surrogate": ("含孤立代理字符", "Lone surrogate character"),
        "not_nfc": ("文本不是 NFC 规范化形式", "Text not in Unicode NFC"),
        "invalid_utf8": ("不是 UTF-8 编码", "Not UTF-8"),
        "unprocessable_event": ("平台无法处理此事件", "Event could not be processed"),
        "invalid_anchor": ("锚定文件无效或签名不符", "Invalid anchor or signature"),
        "write_conflict": ("并发写入冲突，请重试", "Concurrent write conflict, please retry"),
    },
}


@cache
def provinces() -> dict[str, tuple[str, str]]:
    """Province-level division codes (GB/T 2260) → (zh, en) names."""
    path = Path(__file__).with_name("data") / "regions.csv"
    with path.open(encoding="utf-8") as fh:
        return {r["code"]: (r["name_zh"], r["name_en"]) for r in csv.DictReader(fh)}


@cache
def chemistries() -> dict[str, tuple[str, str]]:
    return {bt.chemistry: (bt.name_zh, bt.name_en) for bt in tables().battery_types.values()}


def pick_lang(query: str | None, cookie: str | None) -> str:
    """The request's language: the query parameter, else the cookie, else Chinese."""
    for candidate in (query, cookie):
        if candidate in LANGS:
            return str(candidate)
    return DEFAULT_LANG


@dataclass(frozen=True)
class Translator:
    """The catalogues in one language."""

    lang: str

    @property
    def index(self) -> int:
        return LANGS.index(self.lang)

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.lang]

    def __call__(self, key: str, **values: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            raise KeyError(f"no message {key!r} in the web catalogue")
        text = pair[self.index]
        return text.format(**values) if values else text

    def vocab(self, kind: str, value: Any) -> str:
        """A vocabulary term (a state, an event type …); unknown values are shown as they are."""
        if value is None:
            return self("common.none")
        if kind == "chemistry":
            table: Mapping[str, tuple[str, str]] = chemistries()
        elif kind == "province":
            table = provinces()
            value = f"{str(value)[:2]}0000"
        else:
            table = VOCABULARY[kind]
        pair = table.get(str(value))
        return pair[self.index] if pair else str(value)

    def pick(self, zh: str | None, en: str | None) -> str:
        """One of two texts stored in both languages (e.g. a finding's messages)."""
        chosen = zh if self.lang == "zh" else en
        return chosen or zh or en or ""


def catalogue_gaps() -> list[str]:
    """Keys whose translation is missing or empty in some language (kept empty by a test)."""
    gaps = [k for k, pair in MESSAGES.items() if len(pair) != len(LANGS) or not all(pair)]
    for kind, table in VOCABULARY.items():
        gaps += [f"{kind}:{k}" for k, pair in table.items() if len(pair) != len(LANGS) or not all(pair)]
    return gaps


def _merge_supervision() -> None:
    """Supervision's catalogue (issue 15) lives in its own module; merged here."""
    from battrace.web import i18n_supervision as sup

    MESSAGES.update(sup.MESSAGES)
    VOCABULARY.update(sup.VOCABULARY)
    VOCABULARY["error"].update(sup.ERRORS)


_merge_supervision()

# -- issue 16 (what a newcomer trips over): kept in one block at the end so that merges stay easy --
MESSAGES.update({
    "lookup.nearest": ("多一位或少一位时最接近的有效编码：", "The nearest valid readings, one character away:"),
    "lookup.on_record": ("平台有记录", "on record"),
    "lookup.not_on_record": ("平台无记录", "not on record"),
})
MESSAGES.update({
    "console.regulator_note": ("监管部门在此查看本单位信息；事件由企业上报，监管工作请使用监管看板。",
                               "Regulators do not report events here (companies do); supervise from the dashboard."),
    "console.regulator_upload": ("监管部门不能上报事件。", "Regulators cannot report events."),
    "console.holdings": ("电池", "Batteries"),
    "console.scope.held": ("实物在库", "Physically held"),
    "console.scope.in_use": ("在用车辆中（我方负责）", "In customers' vehicles (our responsibility)"),
    "console.scope.made": ("我方生产", "Made by us"),
    "console.scope_help.held": ("本单位实际持有的电池：库存、换电站库存、废旧电池、未售车辆中的电池包和再制造产品（不含已装入电池包的模块和单体）。",
                                "What we physically have: stock, swap stock, waste, packs in unsold vehicles and "
                                "re-made products (not the modules and cells inside our packs)."),
    "console.scope_help.in_use": ("已随车辆交付用户、仍由本单位负责的电池包。",
                                  "Packs in vehicles delivered to customers that we are still responsible for."),
    "console.scope_help.made": ("编码中生产企业为本单位的全部电池（各层级，无论现在在哪里）。",
                                "Every battery we made (every level, wherever it is now)."),
    "console.search": ("编码", "Code"),
    "console.search_hint": ("编码的一部分", "part of the code"),
    "console.any": ("全部", "any"),
    "console.since": ("最近事件自", "Last event from"),
    "console.until": ("至", "to"),
    "console.filter": ("筛选", "Filter"),
    "console.clear": ("清除", "Clear"),
    "console.matching": ("共 {n} 块", "{n} batteries"),
    "console.export_csv": ("导出 CSV", "Export CSV"),
    "console.export_xlsx": ("导出 Excel", "Export Excel"),
    "console.vehicle": ("车辆", "Vehicle"),
    "console.first": ("首页", "First"),
    "console.last": ("末页", "Last"),
    "console.goto": ("跳至", "Go to page"),
    "console.no_match": ("没有符合条件的电池。", "No batteries match."),
})
VOCABULARY.setdefault("reason", {}).update(REASON_LABELS)
VOCABULARY["error"].update({
    "empty_database": ("数据库为空或不存在", "Empty or missing database"),
    "usage": ("命令用法有误", "Usage error"),
    "epcis_not_understood": ("无法理解的 EPCIS 文档", "EPCIS not understood"),
})
MESSAGES.update({
    "battery.stage.remade": ("再制造", "Re-made"),
    "battery.stage.second_life": ("梯次使用", "Second life"),
    "battery.section.glance": ("概况", "At a glance"),
    "battery.custodian": ("当前持有方", "Custodian"),
    "battery.open_findings": ("未整改问题", "Open findings"),
    "battery.no_custodian": ("无（在用户车辆中或已结束）", "none (in a customer's vehicle, or finished)"),
    "timeline.folded": ("展开其余 {n} 个事件", "Show the other {n} events"),
})
MESSAGES.update({
    "table.overdue_as_of": ("逾期天数计至 {at}（应报未报检查的日期）。",
                            "Days overdue are counted to {at} (the date the missing reports were checked)."),
})
