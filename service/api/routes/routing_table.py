from fastapi import APIRouter, Body, HTTPException, status

from ...offices.routing import RoutingTable
from ...storage.tables import RoutingTableVersion
from ..deps import AdminKey, ReviewerKey, RoutingDep, SessionDep
from ..schemas import RoutingTableInfo, error_responses, refuse_nul

router = APIRouter(prefix="/v1/routing-table", tags=["routing"], responses=error_responses(401, 403, 413, 422))


def _info(table: RoutingTable) -> RoutingTableInfo:
    return RoutingTableInfo(version=table.version, dispatcher=table.dispatcher, rules=len(table.rules),
                            offices=len({r.office for r in table.rules}), problems=table.check())


@router.get("", response_model=RoutingTableInfo)
def current_table(routing: RoutingDep, _: ReviewerKey) -> RoutingTableInfo:
    """The routing table in force: its version, size, and any rule that conflicts or can never fire."""
    return _info(routing.current())


@router.get("/rules")
def current_rules(routing: RoutingDep, _: AdminKey) -> dict:
    """The whole table, in the shape `PUT` takes, for editing."""
    return routing.current().to_dict()


@router.put("", response_model=RoutingTableInfo)
def replace_table(routing: RoutingDep, session: SessionDep, admin: AdminKey, table: dict = Body(
        examples=[{"version": "2026-12-01", "dispatcher": "青海省信访局人工分办", "rules": [
            {"id": "hrss-630102", "department": "hrss", "region": "630102", "office": "城东区人力资源和社会保障局"},
            {"id": "hrss-wages-630102", "department": "hrss", "region": "630102", "priority": 10,
             "keywords": ["欠薪", "拖欠工资"], "office": "城东区劳动保障监察大队"}]}])) -> RoutingTableInfo:
    """Puts a new version of the routing table in force (kept as a version, never overwritten). A table
    whose rules conflict is refused with 422; rules that can never fire are reported, not refused."""
    try:
        refuse_nul(table)
        parsed = RoutingTable.from_dict(table)
    except (KeyError, TypeError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"not a routing table: {exc}")
    conflicts = [p for p in parsed.check() if p.startswith("conflict") or "not a division-code" in p]
    if conflicts:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="; ".join(conflicts[:10]))
    row = RoutingTableVersion(version=parsed.version, content=parsed.to_dict(), actor=admin.name)
    session.add(row)
    session.commit()
    routing.replace(parsed, row.id)
    return _info(parsed)

