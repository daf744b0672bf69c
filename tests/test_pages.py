"""The web pages: sign-in and CSRF through the test client, then a real browser (Playwright driving
Debian's chromium) signing in, correcting a case, reading the dashboard's charts and the model page.

`make screenshots` runs the browser test on the shipped model with realistic cases and keeps the
screenshots in docs/screenshots/; otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import free_port, running_service

from petition_triage.config import REPO_ROOT, Settings
from petition_triage.service.api.keys import create_key
from petition_triage.service.app import create_app
from petition_triage.training.corpus import read_records

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LETTER = "我们小区的电梯上个月坏了三次，有一次把一位老人困在里面快一个小时，物业只派人简单看了看就走了，请市场监管部门来查一查。"


@pytest.fixture
def service(tmp_path, hand_scored_model, database_url):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, database_url=database_url,
                                  notify_interval_s=0)) as client:
        yield client


def _key(service, role: str) -> str:
    return service.keys[role]["Authorization"].removeprefix("Bearer ")


def test_pages_need_a_reviewer_session_and_forms_need_their_csrf_token(service):
    to_login = service.get("/ui/queue", follow_redirects=False)
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/ui/login?next=/ui/queue")
    refused = service.post("/ui/login", data={"key": _key(service, "intake")}, follow_redirects=False)
    assert refused.status_code == 401 and "没有审核员权限" in refused.text
    assert service.post("/ui/login", data={"key": "pt_wrong"}, follow_redirects=False).status_code == 401

    case_id = service.post("/v1/cases", json={"text": LETTER, "channel": "web"}, headers=service.keys["intake"]).json()["id"]
    signed_in = service.post("/ui/login", data={"key": _key(service, "reviewer"), "next": f"/ui/cases/{case_id}"},
                             follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == f"/ui/cases/{case_id}"
    page = service.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200 and "电梯" in page.text
    assert 'id="route"' in page.text and 'name="office"' in page.text, "the route is shown and correctable"
    forged = service.post(f"/ui/cases/{case_id}/corrections", data={"department": "housing", "csrf": "forged"})
    assert forged.status_code == 403
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    saved = service.post(f"/ui/cases/{case_id}/corrections", data={"department": "housing", "reason": "物业归住建",
                                                                   "csrf": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    history = service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()["history"]
    assert history[-1]["to_value"] == "housing" and history[-1]["reason"] == "物业归住建"
    assert service.get("/ui/models").status_code == 403, "the model page is for admins"
    assert service.get("/v1/stats").status_code == 200, "the dashboard's charts read the API with the session"
    assert service.post("/v1/cases", json={"text": LETTER}).status_code == 401, "writes still need a key"


def test_model_page_rolls_back_as_the_api_does(service):
    service.post("/ui/login", data={"key": _key(service, "admin")}, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', service.get("/ui/models").text).group(1)
    nothing = service.post("/ui/models/activate", data={"csrf": csrf}, follow_redirects=False)
    assert nothing.status_code == 303 and "roll%20back" in nothing.headers["location"]
    unknown = service.post("/ui/models/activate", data={"csrf": csrf, "version": "v9"}, follow_redirects=False)
    assert unknown.headers["location"].endswith("error=v9")


def test_text_is_escaped_and_keywords_are_marked():
    from petition_triage.service.web.pages import highlight

    marked = str(highlight("<script>alert(1)</script>电梯困人", ["电梯", "<script>"]))
    assert "<script>" not in marked and "&lt;script&gt;" in marked
    assert "<mark>电梯</mark>" in marked


@pytest.fixture
def live_server(tmp_path, hand_scored_model):
    """The app served by uvicorn in a thread, on the shipped model when taking README screenshots."""
    model = Path(os.environ.get("PETITION_TRIAGE_UI_MODEL", hand_scored_model))
    settings = Settings(home=tmp_path / "home", model_dir=model, database_url=f"sqlite:///{tmp_path}/ui.db",
                        notify_interval_s=0)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    with app.state.database.sessions() as session:
        keys = {role: create_key(session, f"ui-{role}", role) for role in ("intake", "reviewer", "admin")}
    yield f"http://127.0.0.1:{port}", keys
    server.should_exit = True
    thread.join(timeout=10)


def _fill_cases(url: str, intake_key: str) -> None:
    """A realistic day's intake: test-split records, including a letter and its hotline duplicate."""
    records = {r["id"]: r for r in read_records(REPO_ROOT / "data_samples" / "test.jsonl")}
    chosen = [records[i] for i in ("h1-0006", "h1-0007")] + list(records.values())[10:22]
    with httpx.Client(base_url=url, headers={"X-API-Key": intake_key}, timeout=60) as client:
        for record in chosen:
            submitter = record.get("submitter") or {}
            metadata = {k: v for k, v in (("phone", submitter.get("phone")), ("name", submitter.get("name"))) if v}
            response = client.post("/v1/cases", json={"text": record["text"], "title": record.get("title"),
                                                      "channel": record["channel"], "metadata": metadata})
            assert response.status_code == 201, response.text
        # The same person again through the hotline, in the hotline's words.
        letter = records["h1-0006"]
        again = client.post("/v1/cases", json={"text": "来电人反映：" + letter["text"], "channel": "hotline",
                                               "metadata": {"phone": "13900001111", "name": letter["submitter"]["name"]}})
        first = client.post("/v1/cases", json={"text": letter["text"], "channel": "wechat",
                                               "metadata": {"phone": "13900001111"}})
        assert again.status_code == first.status_code == 201


def test_browser_sign_in_correct_and_dashboard(live_server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    url, keys = live_server
    _fill_cases(url, keys["intake"])
    shots = Path(os.environ.get("PETITION_TRIAGE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.goto(f"{url}/ui/queue")
        expect(page).to_have_url(re.compile(r"/ui/login"))
        page.screenshot(path=shots / "login.png")
        page.fill("#key", keys["admin"])
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("审核队列")
        rows = page.locator("#queue tbody tr[data-href]")
        expect(rows.first).to_be_visible()
        page.screenshot(path=shots / "queue.png", full_page=True)

        page.keyboard.press("j")  # keyboard-first: the first row takes focus, Enter opens it
        page.keyboard.press("Enter")
        expect(page.locator("#petition-text")).to_be_visible()
        case_url = page.url
        page.select_option("#department", "emergency")
        page.fill("#reason", "涉及安全生产，转应急管理")
        page.click("#correction-form button[type=submit]")
        expect(page).to_have_url(case_url)
        expect(page.locator("#history")).to_contain_text("emergency")
        expect(page.locator("#history")).to_contain_text("涉及安全生产，转应急管理")

        page.goto(f"{url}/ui/queue")  # the next case is right as predicted: one key accepts it
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        expect(page.locator("#petition-text")).to_be_visible()
        accepted = page.url.removeprefix(url)
        page.keyboard.press("a")
        expect(page.locator("h1")).to_have_text("审核队列")
        expect(page.locator(f'#queue tbody tr[data-href="{accepted}"]')).to_have_count(0)
        expect(page.locator("#today")).to_contain_text("确认预测正确 1 件，更正 1 件")

        page.goto(f"{url}/ui/cases/{_case_with_link(url, keys['reviewer'])}")
        expect(page.locator(".link").first).to_be_visible()
        page.screenshot(path=shots / "case.png", full_page=True)

        page.goto(f"{url}/ui/dashboard")
        expect(page.locator("body")).to_have_attribute("data-loaded", "true")
        expect(page.locator("#chart-department rect.bar").first).to_be_visible()
        assert page.locator("#chart-trend rect.bar").count() >= 1
        expect(page.locator("#total")).not_to_have_text("…")
        page.screenshot(path=shots / "dashboard.png", full_page=True)

        page.goto(f"{url}/ui/models")
        expect(page.locator("text=使用中")).to_be_visible()
        page.screenshot(path=shots / "models.png", full_page=True)
        browser.close()
    assert all((shots / f"{name}.png").stat().st_size > 10_000 for name in ("queue", "case", "dashboard", "models"))


def _case_with_link(url: str, reviewer_key: str) -> str:
    """The hotline summary that duplicate search linked to the earlier letter."""
    with httpx.Client(base_url=url, headers={"X-API-Key": reviewer_key}) as client:
        for item in client.get("/v1/cases", params={"limit": 100}).json()["items"]:
            if client.get(f"/v1/cases/{item['id']}").json()["links"]:
                return item["id"]
    raise AssertionError("no case has a duplicate link")


def test_pages_show_times_in_beijing_time():
    from datetime import datetime, timezone

    from petition_triage.service.web.pages import TEMPLATES

    when = TEMPLATES.env.filters["when"]
    assert when(datetime(2026, 12, 8, 15, 59, tzinfo=timezone.utc)) == "2026-12-08 23:59"
    assert when(datetime(2026, 12, 8, 16, 1)) == "2026-12-09 00:01", "naive times (SQLite) are UTC"
    assert when(None) == "–"
