"""Surface profile of a set of texts, set beside the profile of real citizen messages.

The real figures are those of ../shared/docs/REAL_TEXT_PROFILE.md (2,763 labelled real
web-portal messages). A shift set must look like them; the bounds below are what
`data validate` holds a shift set to.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

REAL_PROFILE = {
    "length_p10": 87, "length_p50": 242, "length_p90": 1014, "length_p99": 2719, "length_max": 4298,
    "over_1000": 0.102, "under_50": 0.013, "digit": 0.87, "ascii_punctuation": 0.13,
    "repeated_marks": 0.083, "zunjing": 0.18, "cizhi_jingli": 0.024, "mou": 0.05,
}

_DIGIT = re.compile(r"[0-9０-９]")
_ASCII_PUNCT = re.compile(r"[,!?;]")
_REPEATED = re.compile(r"[！!]{2,}|[？?]{2,}")
_CLOSING = re.compile(r"此致\s*敬礼")
OPENING_CHARS = 8


def full_text(record: dict) -> str:
    """Title and body as a reader sees them (the title, where there is one, first)."""
    return f"{record.get('title') or ''}{record['text']}"


def profile(records: list[dict]) -> dict:
    """The measures of REAL_PROFILE on `records`, plus the most shared openings and closings."""
    if not records:
        return {}
    texts = [r["text"] for r in records]
    lengths = np.array([len(t) for t in texts])
    share = lambda pattern: round(sum(1 for r in records if pattern.search(full_text(r))) / len(records), 3)
    openings = Counter(t[:OPENING_CHARS] for t in texts)
    closings = Counter(t.rstrip()[-OPENING_CHARS:] for t in texts)
    return {
        "records": len(records),
        **{f"length_p{q}": int(np.percentile(lengths, q)) for q in (10, 50, 90, 99)},
        "length_max": int(lengths.max()),
        "over_1000": round(float((lengths > 1000).mean()), 3),
        "under_50": round(float((lengths < 50).mean()), 3),
        "digit": share(_DIGIT), "ascii_punctuation": share(_ASCII_PUNCT), "repeated_marks": share(_REPEATED),
        "zunjing": share(re.compile("尊敬")), "cizhi_jingli": share(_CLOSING), "mou": share(re.compile("某")),
        "top_openings": [(o, round(c / len(texts), 3)) for o, c in openings.most_common(3)],
        "top_closings": [(o, round(c / len(texts), 3)) for o, c in closings.most_common(3)],
    }


@dataclass(frozen=True)
class ProfileBounds:
    """What a set written to the real-text profile must show (issue 21's shift-set bounds)."""

    median_length: tuple[int, int] = (200, 300)
    min_p90_length: int = 800
    min_digit: float = 0.75
    max_mou: float = 0.08
    max_opening_share: float = 0.03


def profile_problems(measured: dict, bounds: ProfileBounds = ProfileBounds()) -> list[str]:
    problems = []
    low, high = bounds.median_length
    if not low <= measured["length_p50"] <= high:
        problems.append(f"median length {measured['length_p50']} outside {low}–{high} characters")
    if measured["length_p90"] < bounds.min_p90_length:
        problems.append(f"90th-percentile length {measured['length_p90']} under {bounds.min_p90_length}")
    if measured["digit"] < bounds.min_digit:
        problems.append(f"{measured['digit']:.0%} of records carry a digit, under {bounds.min_digit:.0%}")
    if measured["mou"] > bounds.max_mou:
        problems.append(f"某 in {measured['mou']:.0%} of records, over {bounds.max_mou:.0%}")
    opening, opening_share = measured["top_openings"][0]
    if opening_share > bounds.max_opening_share:
        problems.append(f"opening {opening!r} starts {opening_share:.1%} of records, over {bounds.max_opening_share:.0%}")
    return problems
