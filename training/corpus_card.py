"""The measured part of data_samples/DATASET_CARD.md: profile, shortcut audit and writer table.

`petition-triage data card` rewrites the section between the markers from `validate_corpus`'s
figures, so the card never drifts from the data.
"""

from __future__ import annotations

from pathlib import Path

from .shortcut_audit import writer_department_table

START, END = "<!-- measured:start -->", "<!-- measured:end -->"
PROFILE_ROWS = [
    ("length p10 / p50 / p90 (chars)", lambda p: f"{p['length_p10']} / {p['length_p50']} / {p['length_p90']}"),
    ("length p99 / max", lambda p: f"{p['length_p99']} / {p['length_max']}"),
    ("over 1,000 characters", lambda p: f"{p['over_1000']:.1%}"),
    ("under 50 characters", lambda p: f"{p['under_50']:.1%}"),
    ("contains a digit", lambda p: f"{p['digit']:.0%}"),
    ("ASCII punctuation mixed in", lambda p: f"{p['ascii_punctuation']:.0%}"),
    ("repeated ！！ / ？？", lambda p: f"{p['repeated_marks']:.1%}"),
    ("contains 尊敬…", lambda p: f"{p['zunjing']:.0%}"),
    ("contains 此致敬礼", lambda p: f"{p['cizhi_jingli']:.1%}"),
    ("anonymised 某", lambda p: f"{p['mou']:.0%}"),
]
AUDIT_ROWS = [
    ("records", lambda a: str(a["records"])),
    ("department from 3 keywords per department (5-fold)", lambda a: f"{a['keyword_accuracy_k3']:.1%}"),
    ("department from 10 keywords per department", lambda a: f"{a['keyword_accuracy_k10']:.1%}"),
    ("department from the writer alone", lambda a: f"{a['department_from_writer_accuracy']:.1%}"),
    ("largest share of one department by one writer",
     lambda a: "{:.0%} ({} in {})".format(*max(((s, w, d) for d, (w, s) in a["largest_writer_share"].items())))),
    ("channel from the first 10 characters (majority share)",
     lambda a: f"{a['channel_from_opening_accuracy']:.1%} ({a['channel_majority_share']:.0%})"),
    ("texts naming an agency", lambda a: f"{a['names_an_agency']:.0%}"),
    ("a single named agency is the responsible one", lambda a: f"{a['single_name_is_responsible']:.0%}"),
    ("openings/closings shared by > 3% of a channel", lambda a: str(len(a["shared_frames"]))),
]


def measured_section(stats: dict, records_by_set: dict[str, list[dict]]) -> str:
    profiles = stats["profile"]
    columns = [(name, profiles[key]) for name, key in (("real messages", "real"), ("whole corpus", "corpus"),
                                                       ("written to the profile (v2)", "written_to_profile"),
                                                       ("shift-dev", "shift-dev"), ("shift-test", "shift-test"))
               if profiles.get(key)]
    lines = [START, "", "### Surface profile beside real messages", "",
             "Real figures: ../shared/docs/REAL_TEXT_PROFILE.md (2,763 labelled real web-portal messages).", "",
             "| measure | " + " | ".join(name for name, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for label, show in PROFILE_ROWS:
        cells = []
        for _, p in columns:
            try:
                cells.append(show(p))
            except KeyError:
                cells.append("–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    audits = stats.get("shortcut_audit", {})
    shown = [(name, audits[key]) for name, key in (("whole corpus", "corpus"), ("written to the profile (v2)",
                                                                                 "written_to_profile")) if key in audits]
    lines += ["", "### Shortcut audit (`petition-triage data validate`)", "",
              "| measure | " + " | ".join(name for name, _ in shown) + " |", "|---|" + "---|" * len(shown)]
    lines += [f"| {label} | " + " | ".join(show(a) for _, a in shown) + " |" for label, show in AUDIT_ROWS]
    for title, records in records_by_set.items():
        if not records:
            continue
        table = writer_department_table(records)
        departments = sorted({d for row in table.values() for d in row})
        lines += ["", f"### Writers × departments: {title}", "",
                  "| writer | " + " | ".join(departments) + " | total |", "|---|" + "---|" * (len(departments) + 1)]
        for writer, row in table.items():
            lines.append(f"| {writer} | " + " | ".join(str(row.get(d, 0)) for d in departments)
                         + f" | {sum(row.values())} |")
    return "\n".join(lines + ["", END])


def rewrite_card(card: Path, section: str) -> None:
    text = card.read_text(encoding="utf-8")
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Measured\n\n" + section + "\n"
    card.write_text(text, encoding="utf-8")
