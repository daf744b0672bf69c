"""Explicit risk cues: phrases that name a reason code outright (the guide's cue lists and variants).

They complement the model: a case that says 不想活了 is `high` (or, in a suggestion citing others'
cases, at least `elevated`) and goes to a person whatever the model thinks, and the response says
the flag came from the text, with the phrase that triggered it. The raise is part of the risk
decision, so evaluation scores what serving returns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Reason code -> patterns. Written from the annotation guide's cue column, widened to the common
# ways people write the same thing.
CUES: dict[str, list[str]] = {
    "self_harm": [r"不想活", r"跳楼", r"喝药", r"服毒", r"以死相逼", r"寻死", r"自杀", r"轻生", r"死给.{0,4}看", r"活不下去",
                  r"想死(?![你您他她我])", r"跳下去(?!救)", r"一了百了", r"死了算了"],
    "violence": [r"扬言报复", r"报复社会", r"同归于尽", r"持刀", r"砍人", r"杀了?他", r"弄死", r"打死",
                 r"(?<![气群都])炸[掉了]",  # not 气炸了 / 群都炸了: anger and a busy chat group
                 r"一起死", r"(跟|和|找).{0,8}拼了(?!命)", r"捅(伤|死|人|谁|几)"],
    "collective_action": [r"集体上访", r"联名", r"[几数十百]+户", r"[几数十百]+[名个]?(工人|村民|业主|家长)", r"拉横幅", r"堵路",
                          r"围堵", r"聚集", r"到政府门口", r"组织.{0,6}(上访|讨薪)"],
    "escalation_threat": [r"进京", r"到北京", r"去北京", r"去省里", r"到省里", r"找中央", r"越级", r"上访到"],
    "media_exposure": [r"找媒体", r"曝光", r"抖音", r"微博", r"发到网上", r"网上发帖", r"记者", r"电视台", r"快手"],
    "repeat": [r"多次反映", r"反映了?[几多两三四五六七八九十\d]+次", r"一直没人管", r"再次(投诉|反映|来电)", r"又一次反映", r"重复反映",
               r"信访终结"],
    "long_unresolved": [r"拖了[几两三四五六七八九十\d]+年", r"至今未(解决|处理|落实|答复)", r"[几两三四五六七八九十\d]+年了?(还|都|也)?没(解决|处理|落实)"],
    "vulnerable_group": [r"农民工", r"老人", r"残疾", r"重病", r"癌症", r"病人", r"留守儿童", r"孤儿", r"孕妇", r"低保户", r"瘫痪"],
    "public_safety": [r"燃气泄漏", r"煤气泄漏", r"漏气", r"危房", r"困人", r"被困", r"食物中毒", r"塌方", r"坍塌", r"溃坝", r"险情",
                      r"裂缝", r"火灾隐患", r"爆炸"],
    "wage_arrears": [r"拖欠.{0,6}工资", r"工资.{0,4}(拖|要不回|讨不回|不给)", r"欠薪", r"讨薪", r"工资.{0,6}(没|未)(发|给|结)", r"血汗钱", r"工钱"],
}
_COMPILED = {code: [re.compile(p) for p in patterns] for code, patterns in CUES.items()}
# Cues strong enough that a case mentioning them goes to a person at once.
URGENT_CUES = frozenset({"self_harm", "violence"})


@dataclass(frozen=True)
class CueMatch:
    code: str
    phrase: str


def find_cues(text: str) -> list[CueMatch]:
    """The first phrase found for each reason code, in code order."""
    found = []
    for code, patterns in _COMPILED.items():
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                found.append(CueMatch(code, match.group()))
                break
    return found


def cue_text(text: str, title: str | None = None) -> str:
    """What the cues are searched in: the title and the body."""
    return f"{title or ''} {text}"


def is_urgent(cues: list[CueMatch]) -> bool:
    return any(cue.code in URGENT_CUES for cue in cues)


def urgent_cue_mask(texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
    """Per record, whether its title or body names self-harm or violence."""
    return np.array([is_urgent(find_cues(cue_text(text, title))) for text, title in zip(texts, titles)], dtype=bool)


def raise_on_urgent_cues(predicted: np.ndarray, urgent: np.ndarray, codes: list[str],
                         to_high: np.ndarray | None = None) -> np.ndarray:
    """Risk levels raised where the text names self-harm or violence (`urgent`): to `high` where
    `to_high` (default: every urgent row), else a `normal` level to `elevated`.

    On data_samples/ train, 33 of the 37 cases that name either are `high`, one is `elevated` (找那个
    老师拼了) and 3 are suggestions citing other people's cases (dev: 16 of 17, and one such
    suggestion); `to_high` leaves suggestions out (see `decision.high_on_cue`). A raise never lowers
    a level.
    """
    out = predicted.copy()
    if to_high is None:
        to_high = urgent
    if "high" in codes:
        out = np.where(urgent & to_high, codes.index("high"), out)
    if "normal" in codes and "elevated" in codes:
        out = np.where(urgent & (out == codes.index("normal")), codes.index("elevated"), out)
    return out
