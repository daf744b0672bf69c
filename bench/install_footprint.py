"""Installs the project into fresh virtual environments, serving-only (`pip install .`) and with the
training extra (`pip install '.[train]'`), and records the time and the size of each; then checks that
the serving-only install serves the shipped model without PyTorch. Writes
bench/results/install_footprint.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR

SMOKE = """
import sys
from fastapi.testclient import TestClient
from petition_triage.service.app import create_app
from petition_triage.service.api.keys import create_key
app = create_app()
with TestClient(app) as client:
    with app.state.database.sessions() as session:
        key = create_key(session, "smoke", "intake")
    answer = client.post("/v1/classify", json={"text": "小区电梯坏了三天，物业不修，老人上下楼困难", "channel": "hotline"},
                         headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
print(sorted(m for m in ("torch", "transformers", "sklearn") if m in sys.modules))
"""


def folder_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def install(source: Path, extra: str, work: Path) -> dict:
    venv = work / f"venv{extra or '-serve'}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    started = time.perf_counter()
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-cache-dir", f"{source}{extra}"], check=True)
    seconds = time.perf_counter() - started
    site = next((venv / "lib").glob("python3.*/site-packages"))
    return {"python": str(python), "seconds": round(seconds, 1), "site_packages_mb": folder_mb(site)}


def main() -> None:
    out = REPO_ROOT / "bench" / "results" / "install_footprint.json"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "src"
        shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "__pycache__"))
        results = {"date": time.strftime("%Y-%m-%d"), "serve": install(source, "", work),
                   "train": install(source, "[train]", work)}
        env = {**os.environ, "PETITION_TRIAGE_HOME": str(work / "home"), "PETITION_TRIAGE_NOTIFY_INTERVAL_S": "0",
               "PETITION_TRIAGE_MODEL_DIR": str(SHIPPED_MODEL_DIR)}
        loaded = subprocess.run([results["serve"]["python"], "-c", SMOKE], env=env, cwd=tmp, check=True,
                                capture_output=True, text=True).stdout.strip().splitlines()[-1]
        results["serve"]["serves_shipped_model"] = True
        results["serve"]["training_modules_loaded"] = json.loads(loaded.replace("'", '"'))
        for kind in ("serve", "train"):
            del results[kind]["python"]
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
