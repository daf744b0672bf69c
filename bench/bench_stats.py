"""`GET /v1/stats` work at 100,000 cases: time of the statistics queries on SQLite and PostgreSQL.

Fills a throw-away database with synthetic case rows (departments, channels, states, regions,
deadlines and creation times spread over a year; no text, no model), then times `statistics.compute`
unfiltered and with filters. Writes bench/results/stats.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import timedelta

import numpy as np
from serving import throwaway_postgres
from sqlalchemy import insert

from petition_triage.config import REPO_ROOT
from petition_triage.model.taxonomy import load_taxonomy
from petition_triage.service.casework.statistics import StatsFilter, compute
from petition_triage.service.storage.database import Database, migrate
from petition_triage.service.storage.tables import Case, utcnow

OUT = REPO_ROOT / "bench" / "results" / "stats.json"


def fill(database: Database, n: int) -> None:
    rng = random.Random(0)
    departments = [d.code for d in load_taxonomy().departments]
    channels = ["hotline", "mailbox", "web", "wechat", "letter"]
    states = ["registered", "accepted", "in_progress", "answered", "closed", "returned", "supervised"]
    regions = ["青海省西宁市城东区", "青海省西宁市城北区", "青海省海东市乐都区", "青海省海南州共和县", "青海省玉树州玉树市"]
    now = utcnow()
    with database.engine.begin() as connection:
        for start in range(0, n, 10_000):
            rows = []
            for _ in range(min(10_000, n - start)):
                created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
                rows.append({"id": str(uuid.uuid4()), "created_at": created, "channel": rng.choice(channels),
                             "text": "-", "metadata": {}, "model_version": "bench", "classification": {},
                             "predicted_type": rng.choice(["demand", "suggestion", "inquiry"]),
                             "predicted_department": rng.choice(departments),
                             "predicted_risk": rng.choices(["normal", "elevated", "high"], [70, 23, 7])[0],
                             "needs_review": False, "state": rng.choice(states), "region": rng.choice(regions),
                             "due_at": created + timedelta(days=rng.choice([15, 60])), "extensions": 0,
                             "extension_days": 0, "duplicate_group": None})
            connection.execute(insert(Case), rows)


def timed(database: Database, where: StatsFilter, repeats: int = 5) -> dict:
    seconds = []
    with database.sessions() as session:
        for _ in range(repeats):
            started = time.perf_counter()
            result = compute(session, where)
            seconds.append(time.perf_counter() - started)
    return {"median_ms": round(float(np.median(seconds)) * 1000, 1), "total": result["total"]}


def run(url: str, n: int) -> dict:
    database = Database(url)
    migrate(database.engine)
    started = time.perf_counter()
    fill(database, n)
    filled = time.perf_counter() - started
    now = utcnow()
    result = {"cases": n, "fill_s": round(filled, 1), "queries": {
        "all": timed(database, StatsFilter()),
        "last 30 days": timed(database, StatsFilter(since=now - timedelta(days=30))),
        "one department, one region prefix": timed(database, StatsFilter(department="hrss", region="青海省西宁市")),
    }}
    database.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as home:
        results["sqlite"] = run(f"sqlite:///{home}/stats.db", args.cases)
    if not args.no_postgresql:
        with throwaway_postgres("pt_bench_stats") as url:
            results["postgresql"] = run(url, args.cases)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
