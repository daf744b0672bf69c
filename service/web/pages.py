"""The reviewer and supervisor web pages: server-rendered, in Chinese, signed in with an API key."""

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ..api.deps import RegistryDep, RoutingDep, SessionDep, client_address, refuse_while_guessing, session_key
from ..api.keys import find_key, role_allows
from ..api.routes.cases import case_or_404
from ..api.schemas import MAX_ROW_ID, CorrectionRequest
from ..casework.lifecycle import STATE_NAMES
from ..casework.time_limits import CHINA
from ..predictor import ModelCheckError
from ..storage import case_store, duplicate_store
from ..storage.tables import ApiKey, as_utc, utcnow
from . import session as web_session

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)


class SignInRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _user(role: str):
    def check(request: Request) -> ApiKey:
        key = session_key(request)
        if key is None:
            raise SignInRequired(request.url.path)
        if not role_allows(key.role, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this page needs the {role} role")
        return key

    return check


def _csrf(request: Request, csrf: str = Form("")) -> None:
    if not web_session.csrf_ok(request.app.state.session_secret, request.cookies.get(web_session.COOKIE), csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="the form's CSRF token is missing or wrong; reload the page")


def _render(request: Request, template: str, user: ApiKey | None, status_code: int = 200, **context) -> HTMLResponse:
    cookie = request.cookies.get(web_session.COOKIE) or ""
    csrf = web_session.csrf_token(request.app.state.session_secret, cookie) if cookie else ""
    return TEMPLATES.TemplateResponse(request, template, {"user": user, "csrf": csrf, "states": STATE_NAMES,
                                                          **context}, status_code=status_code)


def highlight(text: str, words: list[str]) -> Markup:
    """The text, escaped, with the model's keywords in <mark>."""
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words))
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [escape(text[last:match.start()]), Markup("<mark>"), escape(match.group()), Markup("</mark>")]
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def age(moment) -> str:
    hours = (utcnow() - as_utc(moment)).total_seconds() / 3600
    return f"{hours:.0f} 小时" if hours < 48 else f"{hours / 24:.0f} 天"


def why_zh(reason: str) -> str:
    """The review queue's reasons, in the pages' language."""
    if reason.startswith("department margin"):
        return "前两个部门相差 " + reason.rsplit(" ", 1)[-1]
    return {"high risk": "高风险", "abstained": "模型拿不准"}.get(reason, reason)


TEMPLATES.env.filters["age"] = age
TEMPLATES.env.filters["why_zh"] = why_zh
TEMPLATES.env.filters["pct"] = lambda p: "–" if p is None else f"{p * 100:.0f}%"
# Staff read times in Beijing time: a deadline stored as 15:59 UTC ends at 23:59 on their clock.
TEMPLATES.env.filters["when"] = lambda m: "–" if m is None else as_utc(m).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/ui/queue") -> HTMLResponse:
    return _render(request, "login.html", None, next=next)


@router.post("/login")
def login(request: Request, session: SessionDep, key: str = Form(""), next: str = Form("/ui/queue")):
    refuse_while_guessing(request)
    row = find_key(session, key.strip())
    if row is None:
        request.app.state.auth_failures.fail(client_address(request))
    if row is None or not role_allows(row.role, "reviewer"):
        return _render(request, "login.html", None, status.HTTP_401_UNAUTHORIZED, next=next,
                       error="密钥无效，或没有审核员权限（需要 reviewer 或 admin 角色的密钥）")
    target = next if next.startswith("/ui/") else "/ui/queue"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    response.set_cookie(web_session.COOKIE, web_session.start(session, row.id),
                        max_age=web_session.LIFETIME_S, httponly=True, samesite="strict")
    return response


@router.post("/logout", dependencies=[Depends(_csrf)])
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    web_session.end(session, request.cookies.get(web_session.COOKIE))
    response = RedirectResponse("/ui/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(web_session.COOKIE)
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, registry: RegistryDep, session: SessionDep, user: ApiKey = Depends(_user("reviewer")),
               department: str | None = None, limit: int = 30) -> HTMLResponse:
    limit = max(1, min(limit, 200))
    items = case_store.review_queue(session, limit, department or None)
    departments = registry.predictor.model.labels.get("department", []) \
        if registry.predictor else []
    today = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    return _render(request, "queue.html", user, items=items, department=department or "", departments=departments,
                   limit=limit, today=case_store.reviewed_since(session, today))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, request: Request, registry: RegistryDep, session: SessionDep,
              user: ApiKey = Depends(_user("reviewer")),
              error: str | None = None) -> HTMLResponse:
    case = case_or_404(session, case_id)
    links = duplicate_store.links_of(session, case.id)
    others = {c.id: c for c in case_store.get_cases(session, {l.case_id for l in links} | {l.other_case_id for l in links})}
    classification = case.classification
    keywords = [k["word"] for k in classification.get("keywords", [])]
    keywords += [r["evidence"] for r in (classification.get("risk") or {}).get("reasons", []) if r.get("evidence")]
    labels = registry.predictor.model.labels if registry.predictor else {}
    return _render(request, "case.html", user, case=case, c=classification, current=case_store.current_labels(case),
                   text=highlight(case.text, keywords), links=links, others=others, labels=labels, error=error,
                   overdue=case_store.is_overdue(case))


@router.post("/cases/{case_id}/corrections", dependencies=[Depends(_csrf)])
def correct(case_id: str, request: Request, registry: RegistryDep, routing: RoutingDep, session: SessionDep,
            user: ApiKey = Depends(_user("reviewer")),
            type: str = Form(""), department: str = Form(""), risk: str = Form(""), office: str = Form(""),
            reason: str = Form("")):
    current = case_store.current_labels(case_or_404(session, case_id))
    wanted = {field: value for field, value in (("type", type), ("department", department), ("risk", risk),
                                                ("office", office.strip())) if value and value != current.get(field)}
    try:
        request_model = CorrectionRequest(**wanted, reason=reason or None)
        changes = case_store.validate_correction(request_model, registry.predictor.model.labels,
                                                 routing.current().offices)
    except ValueError as exc:
        return _back_to_case(case_id, exc)
    return _write(session, case_id, lambda c: case_store.add_corrections(
        session, c, changes, reason or None, user.name, c.model_version), then=f"/ui/cases/{case_id}")


@router.post("/cases/{case_id}/accept", dependencies=[Depends(_csrf)])
def accept(case_id: str, session: SessionDep, user: ApiKey = Depends(_user("reviewer")), reason: str = Form("")):
    """The prediction is right: the case leaves the queue; back to the queue for the next one."""
    case_or_404(session, case_id)
    return _write(session, case_id, lambda c: case_store.accept_prediction(session, c, reason or None, user.name),
                  then="/ui/queue")


def _write(session, case_id: str, change, then: str) -> RedirectResponse:
    """Runs `change` as the case's one writer, then on to `then`, or back to the case saying why not."""
    try:
        case_store.write_case(session, case_id, change)
    except case_store.ConcurrentWrites as exc:
        return _back_to_case(case_id, exc)
    return RedirectResponse(then, status.HTTP_303_SEE_OTHER)


def _back_to_case(case_id: str, problem: Exception) -> RedirectResponse:
    return RedirectResponse(f"/ui/cases/{case_id}?error={quote(str(problem))}", status.HTTP_303_SEE_OTHER)


@router.post("/links/{link_id}/review", dependencies=[Depends(_csrf)])
def review_link(session: SessionDep, user: ApiKey = Depends(_user("reviewer")),
                link_id: int = PathParam(ge=1, le=MAX_ROW_ID),
                action: str = Form(...), case_id: str = Form(...)):
    link = duplicate_store.get_link(session, link_id)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no duplicate link with id {link_id}")
    try:
        duplicate_store.review_link(session, link, action, None, user.name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))
    return RedirectResponse(f"/ui/cases/{case_id}", status.HTTP_303_SEE_OTHER)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, registry: RegistryDep, user: ApiKey = Depends(_user("reviewer"))) -> HTMLResponse:
    predictor = registry.predictor
    names = {code: name for head in (predictor.names.values() if predictor else []) for code, name in head.items()}
    return _render(request, "dashboard.html", user, label_names=names)


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, registry: RegistryDep, user: ApiKey = Depends(_user("admin")),
                error: str | None = None) -> HTMLResponse:
    versions = [{"version": version, "path": str(path), "active": active, "metrics": metrics.get("test", {})}
                for version, path, active, metrics in registry.listing()]
    return _render(request, "models.html", user, versions=versions, error=error)


@router.post("/models/activate", dependencies=[Depends(_csrf)])
def activate(request: Request, registry: RegistryDep, session: SessionDep, user: ApiKey = Depends(_user("admin")),
             version: str = Form("")):
    try:
        if version:
            registry.activate(session, version, user.name)
        else:
            registry.rollback(session, user.name)
    except KeyError as exc:
        return RedirectResponse(f"/ui/models?error={quote(str(exc.args[0]))}", status.HTTP_303_SEE_OTHER)
    except ModelCheckError as exc:
        return RedirectResponse(f"/ui/models?error={quote(str(exc))}", status.HTTP_303_SEE_OTHER)
    return RedirectResponse("/ui/models", status.HTTP_303_SEE_OTHER)
