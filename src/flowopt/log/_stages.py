"""Map activities to the five service stages of a customer-facing flow.

``consultation → application → approval → disbursement → after_service``, plus ``other``. The
``[stages]`` config section is checked first (its regexes, case-insensitive, in the order written);
then a built-in keyword classifier in English, Chinese and Dutch (for the public BPI logs). The rule
that placed each activity is kept, so the mapping can be shown and overridden.

Examples
--------
>>> classify_activities(["客户咨询", "提交申请", "审批-驳回", "Payment Handled", "Welcome call", "Wait"])
{'客户咨询': 'consultation', '提交申请': 'application', '审批-驳回': 'approval', 'Payment Handled': 'disbursement', 'Welcome call': 'after_service', 'Wait': 'other'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["BUILTIN_STAGE_RULES", "STAGES", "classify_activities", "stage_rules"]

STAGES = ("consultation", "application", "approval", "disbursement", "after_service", "other")

# Ordered: the first rule that matches decides. Specific phrases come before the general keywords they
# contain (a "document check" is part of the application, though "check" sounds like a control).
BUILTIN_STAGE_RULES: tuple[tuple[str, str], ...] = (
    ("after_service", (r"follow[\s_-]?up|complain|survey|feedback|after[\s_-]?(sales?|service)|welcome[\s_-]?call|"
                       r"ticket|satisf|回访|投诉|贷后|满意度|售后|客诉|催收")),
    ("application", (r"document[\s_-]*(check|upload|review|verif)|missing[\s_-]*doc|incomplete|资料审核|补充材料|"
                     r"材料审核|资料|材料|aanvraag\b(?!.*valid)|completeren|dossier")),
    ("approval", (r"approv|reject|declin|sign[\s_-]?off|authori[sz]|review|underwrit|fraud|valid|beoordel|scor|"
                  r"decision|decide|verif|accept|审批|审核|签批|核准|驳回|拒绝|同意|风控|授信|评分|复核|审查")),
    ("disbursement", r"disburs|payout|pay|contract|signing|fund|activat|transfer|放款|发放|支付|签约|划款|打款|合同"),
    ("application", r"appl(y|ication)|submit|upload|regist|申请|提交|登记|进件"),
    ("consultation", (r"inquir|enquir|consult|first[\s_-]?contact|advice|advis|lead|appointment|contact|intake|"
                      r"咨询|预约|问询|接待|面谈")),
)

_MAX_NAME = 1000  # characters of an activity name the stage rules look at

_COMPILED = tuple((stage, re.compile(rx, re.IGNORECASE)) for stage, rx in BUILTIN_STAGE_RULES)


def stage_rules(config_stages: Mapping[str, Iterable[str]] | None = None) -> list[tuple[str, re.Pattern[str], str]]:
    """The ordered rules: config rules first, then the built-ins. Each is (stage, regex, origin)."""
    rules: list[tuple[str, re.Pattern[str], str]] = []
    for stage, patterns in (config_stages or {}).items():
        for p in patterns:
            rules.append((stage, re.compile(p, re.IGNORECASE), f"config [stages] {stage}: {p}"))
    for stage, rx in _COMPILED:
        rules.append((stage, rx, "built-in"))
    return rules


def classify_activities(activities: Iterable[str], config_stages: Mapping[str, Iterable[str]] | None = None,
                        *, with_rule: bool = False) -> dict[str, object]:
    """Return ``{activity: stage}`` (or ``{activity: (stage, rule)}`` with ``with_rule=True``)."""
    rules = stage_rules(config_stages)
    out: dict[str, object] = {}
    for act in activities:
        name = str(act)[:_MAX_NAME]  # a pathological multi-megabyte name must not stall the regexes
        found = ("other", "no rule matched")
        for stage, rx, origin in rules:
            if rx.search(name):
                found = (stage, origin if origin != "built-in" else f"built-in: /{rx.pattern[:40]}/")
                break
        out[act] = found if with_rule else found[0]
    return out
