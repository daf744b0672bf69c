from fastapi import APIRouter, HTTPException, Path, Request, status

from ...casework.registration import register_submissions
from ..channel_adapters import ADAPTERS, PayloadError
from ..deps import ContactSaltDep, DuplicateIndexDep, IntakeKey, SessionDep, TimeLimitsDep, TriageDep
from ..keys import role_allows
from ..schemas import IntakeResult, error_responses

router = APIRouter(prefix="/v1/intake", tags=["intake"], responses=error_responses(401, 403, 404, 413, 422, 503))

_PAYLOADS = {
    "application/json": {"example": {"gdbh": "QH12345-2026-1108-00417", "ldsj": "2026-11-08 09:42:17",
                                     "ldhm": "13800000000", "ldrxm": "韩女士", "gdbt": "小区供暖温度不达标",
                                     "gdnr": "来电人反映：其居住的小区自11月1日供暖以来室内温度一直在14度左右……"}},
    "message/rfc822": {"schema": {"type": "string", "format": "binary"},
                       "example": "From: =?utf-8?b?5byg5YWI55Sf?= <zhang@example.cn>\nSubject: =?utf-8?b?5bCP5Yy655S15qKv?=\n"
                                  "Content-Type: text/plain; charset=utf-8\n\n尊敬的厅长：我们小区的电梯坏了三个月没人修……"},
    "application/xml": {"example": "<xml><MsgType><![CDATA[text]]></MsgType><CreateTime>1762680912</CreateTime>"
                                   "<Content><![CDATA[村口小桥栏杆断了两根一直没人修]]></Content></xml>"},
    "text/csv": {"example": "来信编号,收信日期,来信人,联系电话,地址,标题,正文\nXF-1,2026-11-03,马先生,,青海省西宁市,标题,正文……"},
}


@router.post("/{channel}", response_model=IntakeResult, status_code=status.HTTP_201_CREATED,
             openapi_extra={"requestBody": {"required": True, "content": _PAYLOADS}})
async def intake(request: Request, triage: TriageDep, index: DuplicateIndexDep, session: SessionDep,
                 caller: IntakeKey, salt: ContactSaltDep, time_limits: TimeLimitsDep, channel: str = Path(description=f"one of: {', '.join(ADAPTERS)}")) -> IntakeResult:
    """Takes a channel's native payload (12345 work order JSON, 厅长信箱 .eml, web form JSON, WeChat XML, CSV
    of letters), normalises it and registers each submission as a case, duplicate check included.
    Nothing is stored unless the whole payload parses."""
    adapter = ADAPTERS.get(channel)
    if adapter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown channel {channel!r}; known: {', '.join(ADAPTERS)}")
    try:
        submissions = adapter(await request.body())
    except PayloadError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"{channel} payload: {exc}")
    cases = await register_submissions(submissions, triage, index, session, salt, time_limits,
                                       role_allows(caller.role, "reviewer"))
    return IntakeResult(channel=channel, cases=cases)
