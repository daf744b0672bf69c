"""Training-time rewrites of a text that keep its labels: each one switchable, applied afresh every epoch.

- agency names masked (相关部门): in the first corpus a named agency was the responsible one in 95%
  of texts, in real messages 77%; the model should learn the matter, not the name;
- channel frames dropped (来电人反映：…, 尊敬的厅长：您好！…, 此致敬礼): fixed in the corpus, absent or
  varied in real text;
- surface noise as real writers make it: homophone slips (在/再, 的/得), ASCII punctuation, doubled
  ！/？, a dropped character.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from .agency_names import mask_agency_names
from .data import Example

# Operator lead-ins of 12345 work orders and letter openings/closings, as the first corpus wrote them.
_LEAD_IN = re.compile(r"^\s*(?:(?:市民|群众)?(?:来电人|反映人|[\u4e00-\u9fff]{1,2}(?:先生|女士))(?:来电)?|(?:市民|群众)(?:来电)?|来电)"
                      r"(?:反映|称|咨询|表示|投诉|求助|建议)?[：:，,]\s*")
_SALUTATION = re.compile(r"^\s*尊敬的[\u4e00-\u9fff]{1,8}[：:，,]?\s*(?:您好[！!，,。]?)?\s*")
_CLOSING = re.compile(r"\s*此致\s*敬礼[！!。]?\s*(?:\S{0,20})?\s*$")

HOMOPHONES = {"在": "再", "再": "在", "的": "得", "得": "的", "已": "以", "以": "已", "做": "作", "像": "象",
              "请": "清", "催": "崔", "恳": "肯", "账": "帐", "部": "步", "即": "既"}
ASCII_PUNCTUATION = {"，": ",", "！": "!", "？": "?", "；": ";", "：": ":"}


@dataclass(frozen=True)
class AugmentConfig:
    """Probability, per training text and epoch, of each rewrite (0 switches it off)."""

    mask_agencies: float = 0.0
    drop_frames: float = 0.0
    noise: float = 0.0

    @property
    def active(self) -> bool:
        return any((self.mask_agencies, self.drop_frames, self.noise))


def drop_channel_frames(text: str) -> str:
    stripped = _CLOSING.sub("", _SALUTATION.sub("", _LEAD_IN.sub("", text, count=1), count=1))
    return stripped if len(stripped) >= 10 else text


def add_noise(text: str, rng: random.Random, rate: float = 0.02) -> str:
    """A few slips of the kind real writers make; about `rate` of eligible characters change."""
    out = []
    for ch in text:
        r = rng.random()
        if ch in HOMOPHONES and r < rate:
            out.append(HOMOPHONES[ch])
        elif ch in ASCII_PUNCTUATION and r < 4 * rate:
            out.append(ASCII_PUNCTUATION[ch])
        elif ch in "！？" and r < 4 * rate:
            out.append(ch * 2)
        elif "\u4e00" <= ch <= "\u9fff" and r < rate / 4:
            continue  # a dropped character
        else:
            out.append(ch)
    return "".join(out)


def augment(example: Example, config: AugmentConfig, rng: random.Random) -> Example:
    text, title = example.text, example.title
    if config.drop_frames and rng.random() < config.drop_frames:
        text = drop_channel_frames(text)
    if config.mask_agencies and rng.random() < config.mask_agencies:
        text = mask_agency_names(text)
        title = mask_agency_names(title) if title else title
    if config.noise and rng.random() < config.noise:
        text = add_noise(text, rng)
    return replace(example, text=text, title=title)
