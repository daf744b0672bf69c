"""Which words speak for a label: the keywords shown with a prediction.

Weights are log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
"Fightin' words") of each jieba word in one label's training texts against all the others.
They are computed once at export and shipped as `keywords.json`; at serving time the words of a
submission that carry the most weight for the predicted label are its keywords.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .model_dir import ModelDirectory

_WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z]{2,}")
# Function words and petition boilerplate that every label shares.
_STOP = frozenset("我们 你们 他们 这个 那个 什么 怎么 因为 所以 但是 而且 如果 已经 没有 一个 现在 还是 就是 可以 "
                  "希望 要求 反映 来电 来电人 市民 请问 您好 谢谢 问题 情况 相关 部门 尊敬 此致 敬礼".split())


def words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text) if _WORD.fullmatch(w) and w not in _STOP]


def log_odds_weights(texts_by_label: dict[str, list[str]], top: int = 300, min_count: int = 2) -> dict[str, dict[str, float]]:
    counts = {label: Counter(w for t in texts for w in words(t)) for label, texts in texts_by_label.items()}
    total = Counter()
    for c in counts.values():
        total.update(c)
    prior_sum = sum(total.values())
    alpha0 = 500.0  # prior strength: a word needs real evidence to stand out
    weights: dict[str, dict[str, float]] = {}
    for label, c in counts.items():
        n_label = sum(c.values())
        n_rest = prior_sum - n_label
        scored = {}
        for word, k in c.items():
            if total[word] < min_count:
                continue
            alpha = alpha0 * total[word] / prior_sum
            rest = total[word] - k
            delta = (math.log((k + alpha) / (n_label + alpha0 - k - alpha))
                     - math.log((rest + alpha) / (n_rest + alpha0 - rest - alpha)))
            variance = 1.0 / (k + alpha) + 1.0 / (rest + alpha)
            z = delta / math.sqrt(variance)
            if z > 1.96:
                scored[word] = round(z, 3)
        weights[label] = dict(sorted(scored.items(), key=lambda kv: -kv[1])[:top])
    return weights


def build_keyword_table(examples: Iterable, heads: dict[str, list[str]]) -> dict:
    table = {}
    examples = list(examples)
    for head in heads:
        if head == "reasons":
            continue
        grouped: dict[str, list[str]] = {}
        for e in examples:
            label = e.labels.get(head)
            if label:
                grouped.setdefault(label, []).append(f"{e.title or ''} {e.text}")
        if grouped:
            table[head] = log_odds_weights(grouped)
    return table


def save_keyword_table(table: dict, directory: Path) -> None:
    ModelDirectory(directory).keywords.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")


class KeywordEvidence:
    def __init__(self, table: dict) -> None:
        self.table = table

    @classmethod
    def load(cls, directory: Path) -> "KeywordEvidence":
        path = ModelDirectory(directory).keywords
        return cls(json.loads(path.read_text(encoding="utf-8")) if path.exists() else {})

    def for_label(self, text: str, head: str, label: str, limit: int = 8) -> list[tuple[str, float]]:
        """The submission's words that weigh most for `label`, strongest first."""
        weights = self.table.get(head, {}).get(label, {})
        seen: dict[str, float] = {}
        for word in words(text):
            if word in weights:
                seen[word] = weights[word]
        return sorted(seen.items(), key=lambda kv: -kv[1])[:limit]
