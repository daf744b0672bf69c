"""`petition-triage predict`: a file of submissions classified as `POST /v1/classify` classifies them.

For analysts and back-fills: the same predictor (model, calibration, review rule, keyword cues) and
the same place and office routing as the API, over a CSV, JSONL, Parquet or Excel file, written back
beside the input's own columns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from petition_triage.model.taxonomy import load_taxonomy

from .api.schemas import Classification, Submission
from .api.triage import Triage
from .offices.routing import RoutingTable
from .predictor import Predictor

FORMATS = (".csv", ".jsonl", ".json", ".parquet", ".xlsx")
# Columns besides the text and title that become part of the submission, as the API reads them.
CHANNEL_COLUMN = "channel"
METADATA_COLUMNS = ("region",)


class FileError(ValueError):
    """An input or output file that cannot be used as given; the message says what to change."""


def table_format(path: Path, what: str = "file") -> str:
    """The file's suffix, or FileError where it is not one of FORMATS."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileError(f"{path}: unsupported {what} type {suffix!r}; use one of {', '.join(FORMATS)}")
    return suffix


def read_table(path: Path) -> pd.DataFrame:
    suffix = table_format(path)
    if not path.exists():
        raise FileError(f"no such file: {path}")
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix in (".jsonl", ".json"):
        lines = suffix == ".jsonl" or path.read_text(encoding="utf-8").lstrip()[:1] != "["
        return pd.read_json(path, lines=lines, dtype=False)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, dtype=str).fillna("")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    suffix = table_format(path, "output")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")  # with a BOM, so Excel reads the Chinese
    elif suffix in (".jsonl", ".json"):
        frame.to_json(path, orient="records", lines=suffix == ".jsonl", force_ascii=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)


def prediction_columns(result: Classification) -> dict:
    """One classification as flat columns (a table's cells cannot hold the API's nested answer)."""
    department, risk = result.department, result.risk
    return {
        "pred_type": result.type.label if result.type else None,
        "pred_type_probability": round(result.type.probability, 4) if result.type else None,
        "pred_department": department.label if department else None,
        "pred_department_name": department.name_zh if department else None,
        "pred_department_probability": department.probability if department else None,
        "pred_department_top3": "|".join(f"{s.label}:{s.probability:.3f}" for s in department.top_k) if department else None,
        "pred_risk": risk.level if risk else None,
        "pred_risk_score": risk.score if risk else None,
        "pred_risk_reasons": ",".join(dict.fromkeys(r.code for r in risk.reasons)) if risk else None,
        "pred_office": result.route.office if result.route else None,
        "pred_place_code": result.place.code if result.place else None,
        "needs_review": result.needs_review,
        "review_reasons": "; ".join(result.review_reasons),
        "model_version": result.model_version,
    }


def submission_of(row: dict, text_col: str, title_col: str | None) -> Submission:
    title = row.get(title_col) if title_col else None
    metadata = {key: str(row[key]) for key in METADATA_COLUMNS if row.get(key) not in (None, "")}
    channel = row.get(CHANNEL_COLUMN) or "other"
    return Submission(text=str(row.get(text_col) or ""), title=str(title) if title not in (None, "") else None,
                      channel=channel, metadata=metadata)


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def predict_table(predictor: Predictor, table: RoutingTable, frame: pd.DataFrame, text_col: str = "text",
                  title_col: str | None = "title", batch_size: int = 32,
                  on_batch: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The input's columns followed by the prediction columns; a row whose text the API would refuse
    keeps its columns and says why in `error`."""
    if text_col not in frame.columns:
        raise FileError(f"no text column {text_col!r} (columns: {', '.join(map(str, frame.columns))}); "
                        "use --text-col")
    title_col = title_col if title_col and title_col in frame.columns else None
    rows = frame.to_dict(orient="records")
    submissions: list[Submission | None] = []
    errors: list[str | None] = []
    for row in rows:
        try:
            submissions.append(submission_of(row, text_col, title_col))
            errors.append(None)
        except ValidationError as exc:
            submissions.append(None)
            errors.append(_problem(exc))
    valid = [i for i, s in enumerate(submissions) if s is not None]
    predicted: dict[int, dict] = {}
    triage = Triage(predictor, table)

    async def run() -> None:
        for start in range(0, len(valid), batch_size):
            chunk = valid[start : start + batch_size]
            batch = [submissions[i] for i in chunk]
            results = await triage.classify(batch)
            predicted.update({i: prediction_columns(r) for i, r in zip(chunk, results)})
            if on_batch:
                on_batch(len(chunk))
        await predictor.batcher.stop()

    asyncio.run(run())
    out = [{**row, **predicted.get(i, {}), "error": errors[i]} for i, row in enumerate(rows)]
    result = pd.DataFrame(out)
    if not any(errors):
        result = result.drop(columns="error")
    return result


def predict_file(model_dir: Path, data: Path, out: Path, text_col: str = "text", title_col: str | None = "title",
                 routing_table: Path | None = None, batch_size: int = 32,
                 on_total: Callable[[int], None] | None = None,
                 on_batch: Callable[[int], None] | None = None) -> dict:
    """Classifies every row of `data` into `out`; returns a summary (rows, errors, review share)."""
    table_format(out, "output")  # before the model loads, not after the work
    frame = read_table(data)
    predictor = Predictor(model_dir, load_taxonomy())
    table = RoutingTable.load(routing_table)
    if on_total:
        on_total(len(frame))
    result = predict_table(predictor, table, frame, text_col, title_col, batch_size, on_batch)
    write_table(result, out)
    errors = int(result["error"].notna().sum()) if "error" in result else 0
    classified = len(result) - errors
    review = int(result["needs_review"].fillna(False).astype(bool).sum()) if classified else 0
    return {"rows": len(result), "classified": classified, "refused": errors, "needs_review": review,
            "model_version": predictor.version, "routing_table": table.version, "out": str(out)}
