"""One adapter per intake channel: each takes the channel's native payload and gives `Submission`s.

    hotline   a 12345 work order (JSON, pinyin-initial field names: gdbh, ldsj, gdnr, ...)
    mailbox   a 厅长信箱 e-mail (RFC 822 `.eml`; attachments are listed, not stored)
    web       a web-portal form (JSON)
    wechat    a WeChat official-account text message (its XML push format)
    letters   a CSV batch of paper letters typed in by staff (UTF-8, one letter a row)

A payload that does not parse raises `PayloadError` naming the field; nothing is stored before every
submission of a payload has parsed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from pydantic import ValidationError

from .schemas import MAX_BATCH, Submission

MAX_CSV_ROWS = MAX_BATCH
_PHONE_IN_TEXT = re.compile(r"(?:电话|手机|联系方式)[:：]?\s*(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})")


class PayloadError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _submission(field: str, **values) -> Submission:
    metadata = {k: v for k, v in values.pop("metadata").items() if v not in (None, "")}
    try:
        return Submission(metadata=metadata, **values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise PayloadError(field, error["msg"]) from exc


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("body", f"not UTF-8 JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", "expected a JSON object")
    return data


def _required_text(data: dict, field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(field, "missing or not a non-empty string")
    return value


def _optional_object(data: dict, field: str, keys: str) -> dict:
    value = data.get(field) or {}
    if not isinstance(value, dict):
        raise PayloadError(field, f"expected an object of {keys}")
    return value


def hotline(body: bytes) -> list[Submission]:
    order = _json_object(body)
    text = _required_text(order, "gdnr")
    place = _optional_object(order, "sqdz", "sheng/shi/qu/jiedao")
    region = "".join(str(place.get(k) or "") for k in ("sheng", "shi", "qu", "jiedao"))
    return [_submission("gdnr", text=text, title=order.get("gdbt"), channel="hotline", metadata={
        "source_id": order.get("gdbh"), "received_at": order.get("ldsj"), "phone": order.get("ldhm"),
        "name": order.get("ldrxm"), "region": region, "hotline_category": order.get("hjlx"),
        "urgency": order.get("jjcd")})]


def mailbox(body: bytes) -> list[Submission]:
    try:
        message = BytesParser(policy=policy.default).parsebytes(body)
    except Exception as exc:  # the parser is lenient; anything it raises means the bytes are not mail
        raise PayloadError("body", f"not an RFC 822 message ({exc})") from exc
    if not message["From"]:
        raise PayloadError("From", "missing: not an e-mail")
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        raise PayloadError("body", "the message has no text part")
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    name, address = parseaddr(str(message["From"]))
    attachments = [a.get_filename() or a.get_content_type() for a in message.iter_attachments()]
    phone = _PHONE_IN_TEXT.search(text)
    received = None
    if message["Date"]:
        try:
            received = parsedate_to_datetime(str(message["Date"])).isoformat()
        except (TypeError, ValueError):
            raise PayloadError("Date", f"not an RFC 822 date: {message['Date']!r}")
    return [_submission("body", text=text.strip(), title=str(message["Subject"] or "") or None, channel="mailbox",
                        metadata={"source_id": str(message["Message-ID"] or ""), "received_at": received,
                                  "email": address, "name": name, "phone": phone.group(1) if phone else None,
                                  "attachments": "、".join(attachments)})]


def web(body: bytes) -> list[Submission]:
    form = _json_object(body)
    text = _required_text(form, "content")
    contact = _optional_object(form, "contact", "name/mobile/email")
    return [_submission("content", text=text, title=form.get("subject"), channel="web", metadata={
        "source_id": form.get("form_id"), "received_at": form.get("submitted"), "name": contact.get("name"),
        "mobile": contact.get("mobile"), "email": contact.get("email"), "region": form.get("region"),
        "category_chosen": form.get("category_chosen")})]


def wechat(body: bytes) -> list[Submission]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise PayloadError("body", f"not XML ({exc})") from exc
    kind = (root.findtext("MsgType") or "").strip()
    if kind != "text":
        raise PayloadError("MsgType", f"only text messages are petitions, got {kind or 'none'!r}")
    text = root.findtext("Content") or ""
    created = root.findtext("CreateTime") or ""
    if not created.isdigit():
        raise PayloadError("CreateTime", "missing or not a Unix time")
    return [_submission("Content", text=text, title=None, channel="wechat", metadata={
        "source_id": root.findtext("MsgId"), "wechat_openid": root.findtext("FromUserName"),
        "received_at": datetime.fromtimestamp(int(created), timezone.utc).isoformat()})]


LETTER_COLUMNS = ("来信编号", "收信日期", "来信人", "联系电话", "地址", "标题", "正文")


def letters(body: bytes) -> list[Submission]:
    try:
        reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
        missing = [c for c in LETTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PayloadError("header", f"missing columns {missing}; expected {list(LETTER_COLUMNS)}")
        rows = list(reader)
    except UnicodeDecodeError as exc:
        raise PayloadError("body", "not UTF-8 text") from exc
    except csv.Error as exc:
        raise PayloadError("body", f"not CSV ({exc})") from exc
    if not rows:
        raise PayloadError("body", "no letters in the file")
    if len(rows) > MAX_CSV_ROWS:
        raise PayloadError("body", f"{len(rows)} letters; at most {MAX_CSV_ROWS} per request")
    return [_submission(f"row {i} 正文", text=row["正文"] or "", title=row["标题"] or None, channel="letter", metadata={
        "source_id": row["来信编号"], "received_at": row["收信日期"], "name": row["来信人"],
        "phone": row["联系电话"], "region": row["地址"]}) for i, row in enumerate(rows, start=1)]


ADAPTERS: dict[str, Callable[[bytes], list[Submission]]] = {
    "hotline": hotline, "mailbox": mailbox, "web": web, "wechat": wechat, "letters": letters,
}
