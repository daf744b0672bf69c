"""Place extraction against the `region` labels of data_samples/ (test split), text only: how often the
prefecture/city and the county are found right, missed, or wrong. Writes bench/results/places.json."""

from __future__ import annotations

import json
import time
from collections import Counter

from petition_triage.config import REPO_ROOT
from petition_triage.places import extract_place
from petition_triage.training.corpus import read_records


def main() -> dict:
    records = read_records(REPO_ROOT / "data_samples" / "test.jsonl")
    counts = {level: Counter() for level in ("city", "county")}
    started = time.perf_counter()
    for record in records:
        place = extract_place(f"{record.get('title') or ''}。{record['text']}")
        for level, counter in counts.items():
            gold, found = record["region"].get(level), getattr(place, level)
            counter["right" if gold == found else "missed" if found is None else "spurious" if gold is None
                    else "wrong"] += 1
    ms = (time.perf_counter() - started) / len(records) * 1000
    result = {"records": len(records), "ms_per_text": round(ms, 1), "source": "text only (no channel region)",
              "levels": {level: {**c, "accuracy": round(c["right"] / len(records), 3)} for level, c in counts.items()}}
    (REPO_ROOT / "bench" / "results" / "places.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, ensure_ascii=False))
