"""Plans for duplicate pairs that look like real 一件多投: families of submissions about one matter.

A family starts from one submission (a slot drawn as `corpus_plan.draw_plan` draws them) and adds,
each with its role fixed before any text is written:
- duplicates: the same writer re-sending the same matter, through another channel with other contact
  fields or none (an operator's summary of a long web post, a WeChat line pointing to an earlier
  letter, a letter re-typed with "我已于…反映过"), or re-posting it verbatim or nearly so;
- related: another writer on the same public issue (the same estate's lift, the same site's noise);
- hard negatives: the same named object (estate, employer, school, road) with another matter, by
  another writer or by the same writer, who then keeps the same contacts.
Families are dealt whole to train, dev and test, so no matter's pairs straddle splits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from petition_triage.model.taxonomy import load_taxonomy

from .corpus_plan import (CHANNEL_MIX, PERSONAS, REAL_DEPARTMENT_MIX, PlanConfig, _reasons, _submitter, _weighted,
                          draw_plan, flattened_mix)

# How a duplicate re-sends the matter, and the channels each form can arrive through.
DUPLICATE_FORMS = {
    "operator_summary": 25,  # a 12345 operator's summary of the writer's call about the earlier post or letter
    "pointer": 20,  # a short WeChat or web line pointing back to the earlier submission, with a detail or two
    "retyped_letter": 15,  # the letter written again, new date, "我已于…反映过", what happened since
    "reworded": 20,  # the same matter told afresh through another channel
    "near_verbatim": 12,  # the same text re-posted with small edits (a line added, a sentence cut, slips)
    "verbatim": 8,  # the same text re-posted unchanged: copied at merge, not written
}
FORM_CHANNELS = {
    "operator_summary": ["hotline"], "pointer": ["wechat", "web"], "retyped_letter": ["letter", "mailbox"],
    "reworded": list(CHANNEL_MIX), "near_verbatim": ["web", "mailbox", "wechat"], "verbatim": ["web", "mailbox"],
}
# Contact fields of a re-sent submission: none at all, other ones (another phone, a nickname, only an
# address), or the same phone or name as the first. Most real 一件多投 shares none.
CONTACT_MODES = {"none": 40, "other": 35, "same": 25}
DUPLICATE_COUNT = {1: 45, 2: 40, 3: 15}
RELATED_COUNT = {0: 40, 1: 35, 2: 25}
NEGATIVE_COUNT = {0: 15, 1: 60, 2: 25}
NEGATIVE_SAME_WRITER = 0.3
SPLIT_SHARES = {"train": 0.6, "dev": 0.2, "test": 0.2}
MAX_BASE_LENGTH = 1800  # near-verbatim re-posts of a 4,000-character letter cost a writer too long


PRESETS = ("dup-families", "dup-issues")  # the names `data plan --preset` draws these plans under


@dataclass
class FamilyPlanConfig:
    families: int
    writers: list[str]
    seed: int = 0
    id_prefix: str = "dp"
    related_count: dict[int, float] = field(default_factory=lambda: dict(RELATED_COUNT))


def families_preset(name: str) -> FamilyPlanConfig:
    """The configurations the committed plans data_samples/plans/dup-*.jsonl were drawn with."""
    writers = [f"d{i}" for i in range(1, 8)]
    if name == "dup-families":
        return FamilyPlanConfig(families=420, writers=writers, seed=2201)
    if name == "dup-issues":
        # Public issues told by three to five people, so hot issues have clusters to find among the letters.
        return FamilyPlanConfig(families=210, writers=writers, seed=2202, id_prefix="dq",
                                related_count={2: 40, 3: 35, 4: 25})
    raise ValueError(f"unknown duplicate plan preset {name!r}; choose {', '.join(PRESETS)}")


def _other_contacts(rng: random.Random) -> dict:
    kind = rng.choice(["phone", "nickname", "address_only"])
    if kind == "phone":  # a family member's phone, or a second number
        return {"name": None, "phone": _submitter(rng)["phone"] or "13900001234", "id_number": None}
    if kind == "nickname":
        return {"name": rng.choice(["微信用户", "老百姓", "一个业主", "小市民", "匿名", "路人甲", "有话说", "求助者"])
                + str(rng.randint(10, 9999)), "phone": None, "id_number": None}
    return {"name": None, "phone": None, "id_number": None}


def _contacts(rng: random.Random, mode: str, first: dict) -> dict:
    if mode == "none":
        return {"name": None, "phone": None, "id_number": None}
    if mode == "same":
        keep = rng.choice(["phone", "name"]) if first.get("phone") and first.get("name") else (
            "phone" if first.get("phone") else "name")
        return {"name": first.get("name") if keep == "name" else None,
                "phone": first.get("phone") if keep == "phone" else None, "id_number": None}
    return _other_contacts(rng)


def _later(rng: random.Random, start: str, low_days: int, high_days: int) -> str:
    when = datetime.fromisoformat(start) + timedelta(days=rng.randint(low_days, high_days), minutes=rng.randint(0, 600))
    return when.strftime("%Y-%m-%dT%H:%M:00+08:00")


def draw_families(config: FamilyPlanConfig) -> list[dict]:
    """One slot per submission to write, grouped by `family`; labels and roles fixed before any text."""
    rng = random.Random(config.seed)
    taxonomy = load_taxonomy()
    departments = [d.code for d in taxonomy.departments]
    bases = draw_plan(PlanConfig(records=config.families, writers=config.writers, id_prefix="base", seed=config.seed,
                                 department_mix=flattened_mix(REAL_DEPARTMENT_MIX, 0.3)), taxonomy)
    splits = [s for s, share in SPLIT_SHARES.items() for _ in range(round(share * config.families))]
    splits += ["train"] * (config.families - len(splits))
    rng.shuffle(splits)
    slots = []
    for n, (base, split) in enumerate(zip(bases, splits), start=1):
        family = f"{config.id_prefix}-f{n:03d}"
        base["length_target"] = min(base["length_target"], MAX_BASE_LENGTH)
        common = {"family": family, "split": split, "writer": base["writer"], "region": base["region"]}
        first = {**base, **common, "id": f"{family}-a", "role": "first"}
        slots.append(first)
        for k in range(1, int(_weighted(rng, {str(c): w for c, w in DUPLICATE_COUNT.items()})) + 1):
            form = _weighted(rng, DUPLICATE_FORMS)
            channels = [c for c in FORM_CHANNELS[form] if c != base["channel"] or form in ("near_verbatim", "verbatim")]
            mode = _weighted(rng, CONTACT_MODES)
            slots.append({**common, "id": f"{family}-d{k}", "role": "duplicate", "form": form,
                          "channel": rng.choice(channels or FORM_CHANNELS[form]), "labels": base["labels"],
                          "persona": base["persona"], "contact_mode": mode,
                          "submitter": _contacts(rng, mode, base["submitter"]),
                          "submitted_at": _later(rng, base["submitted_at"], 1 if form != "verbatim" else 0, 75)})
        for k in range(1, int(_weighted(rng, {str(c): w for c, w in config.related_count.items()})) + 1):
            slots.append({**common, "id": f"{family}-r{k}", "role": "related", "channel": _weighted(rng, CHANNEL_MIX),
                          "labels": {**base["labels"], "type": _weighted(rng, {"demand": 70, "inquiry": 20,
                                                                               "suggestion": 10})},
                          "persona": rng.choice([p for p in PERSONAS if p != base["persona"]]),
                          "submitter": _submitter(rng), "submitted_at": _later(rng, base["submitted_at"], -30, 60)})
        for k in range(1, int(_weighted(rng, {str(c): w for c, w in NEGATIVE_COUNT.items()})) + 1):
            same_writer = rng.random() < NEGATIVE_SAME_WRITER
            department = base["labels"]["department"] if rng.random() < 0.5 else rng.choice(departments)
            type_ = _weighted(rng, {"demand": 70, "inquiry": 20, "suggestion": 10})
            risk = _weighted(rng, {"normal": 60, "elevated": 37, "high": 3} if type_ == "demand" else {"normal": 1})
            slots.append({**common, "id": f"{family}-n{k}", "role": "negative", "same_writer": same_writer,
                          "channel": _weighted(rng, CHANNEL_MIX),
                          "labels": {"type": type_, "department": department, "risk": risk,
                                     "risk_reasons": _reasons(rng, risk, department)},
                          "persona": base["persona"] if same_writer else rng.choice(PERSONAS),
                          "submitter": base["submitter"] if same_writer else _submitter(rng),
                          "submitted_at": _later(rng, base["submitted_at"], -120, 200)})
    return slots


def merge_families(slots: list[dict], texts: dict[str, dict]) -> tuple[dict[str, list[dict]], list[str]]:
    """Corpus records per split from the slots and the texts written for them (`{"id", "title", "text"}`).

    Only families whose first submission and at least one duplicate were written are kept; a
    verbatim re-post copies its family's first text. Duplicates share `duplicate_group`; a related
    submission links to the first with kind `same_issue`; negatives carry no link.
    """
    by_family: dict[str, list[dict]] = {}
    for slot in slots:
        by_family.setdefault(slot["family"], []).append(slot)
    splits: dict[str, list[dict]] = {s: [] for s in SPLIT_SHARES}
    problems = [f"text {i!r} has no slot" for i in texts if i not in {s["id"] for s in slots}]
    for family, members in by_family.items():
        first = members[0]
        if first["id"] not in texts:
            continue
        written = []
        for slot in members:
            if slot.get("form") == "verbatim":
                text = {"title": texts[first["id"]].get("title"), "text": texts[first["id"]]["text"]}
            elif slot["id"] in texts:
                text = texts[slot["id"]]
            else:
                continue
            if not text.get("text"):
                problems.append(f"{slot['id']}: empty text")
                continue
            written.append((slot, text))
        if not any(s["role"] == "duplicate" for s, _ in written):
            continue
        for slot, text in written:
            splits[slot["split"]].append({
                "id": slot["id"], "writer": slot["writer"], "channel": slot["channel"], "labels": slot["labels"],
                "region": slot["region"], "submitter": slot["submitter"], "submitted_at": slot["submitted_at"],
                "title": text.get("title") or None, "text": text["text"],
                "duplicate_group": family if slot["role"] in ("first", "duplicate") else None,
                "related": [{"id": first["id"], "kind": "same_issue"}] if slot["role"] == "related"
                else [{"id": first["id"], "kind": "same_person_other_matter"}] if slot.get("same_writer") else [],
                "hard_case": {"first": None, "duplicate": slot.get("form"), "related": "same public issue, other writer",
                              "negative": "same object, other matter" + (", same writer" if slot.get("same_writer")
                                                                        else "")}[slot["role"]],
                "family": family, "role": slot["role"]})
    return splits, problems
