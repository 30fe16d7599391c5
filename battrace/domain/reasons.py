"""Labels for the reason codes events carry (``battery.replaced``, ``battery.reported_missing`` …).

``reason`` is free text in the event contract; these are the codes the platform's own tools (the
simulator, the demo) write and that pages show as words: (Chinese, English). A reason that is not
listed here is shown as it was reported.
"""

from __future__ import annotations

REASON_LABELS: dict[str, tuple[str, str]] = {
    # battery.replaced (repairs)
    "capacity_fade": ("容量衰减", "capacity fade"),
    "thermal_fault": ("热故障", "thermal fault"),
    "bms_fault": ("电池管理系统故障", "BMS fault"),
    "collision_damage": ("碰撞损坏", "collision damage"),
    "cell_imbalance": ("单体不一致", "cell imbalance"),
    # battery.reported_missing
    "not_found_at_stocktake": ("盘点时未找到", "not found at stock-take"),
    "stolen_from_yard": ("在堆场被盗", "stolen from the storage yard"),
    "lost_in_transit": ("运输途中丢失", "lost in transit"),
    # the simulator's earlier free-text reasons (worlds made before these codes)
    "not found at stock-take": ("盘点时未找到", "not found at stock-take"),
    "stolen from storage yard": ("在堆场被盗", "stolen from the storage yard"),
    "lost in transit records": ("运输途中丢失", "lost in transit"),
}


def reason_label(reason: str, lang: int) -> str:
    """The reason in Chinese (``lang`` 0) or English (1); unknown reasons as reported."""
    pair = REASON_LABELS.get(reason)
    return pair[lang] if pair else reason
