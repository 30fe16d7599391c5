"""The compliance catalogue as code: every finding rule of rules.md, registered under its id.

Rules are pure: they read an event with the states before and after it (:class:`EventFacts`), or a
timer / an aggregate "as of" a date, and return :class:`Finding` objects. The engine that runs them
as events are stored and writes the findings is :mod:`battrace.services.compliance`.

    R01 r01.py   vehicle scrapped without its bound pack                   violation
    R02 r02.py   waste battery handed to an organisation that may not take it  violation
    R03 r03.py   re-made product for a prohibited application (e-bike)     violation
    R04 r04.py   reported after the deadline                               warning
    R04b r04b.py expected follow-up missing past its deadline (as of)      warning
    R05 r05.py   lost trail: reported missing, or idle too long (as of)    violation
    R09 r09.py   re-made without a health test on a source                 warning
    R10 r10.py   removed pack not bound to the vehicle                     warning
    R11 r11.py   collection outlets do not cover a province with sales (as of)  notice
"""

from __future__ import annotations

from battrace.domain.rules.config import Deadline, RulesConfig
from battrace.domain.rules.finding import NOTICE, OPEN, RESOLVED, SEVERITIES, VIOLATION, WARNING, Finding, Resolution
from battrace.domain.rules.registry import RULES, EventFacts, Rule, all_rules, get_rule, run_event_rules
from battrace.domain.rules.timers import AsOf, Timer, timer_changes

__all__ = [
    "NOTICE", "OPEN", "RESOLVED", "RULES", "SEVERITIES", "VIOLATION", "WARNING", "AsOf", "Deadline", "EventFacts",
    "Finding", "Resolution", "Rule", "RulesConfig", "Timer", "all_rules", "get_rule", "run_event_rules",
    "timer_changes",
]
