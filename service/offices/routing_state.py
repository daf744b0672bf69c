"""The routing table in force, shared by every process through the database.

An admin's `PUT /v1/routing-table` stores a new version; each process checks for a newer one at most
every `refresh_s` seconds, so all processes route by the same table within that time. If the
database is away, routing goes on with the table in hand.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..storage.tables import RoutingTableVersion
from .routing import RoutingTable

logger = logging.getLogger(__name__)


class RoutingState:
    def __init__(self, default: RoutingTable, database, refresh_s: float = 10.0) -> None:
        self.database = database
        self.refresh_s = refresh_s
        self._table = default
        self._version_id: int | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> RoutingTable:
        if time.monotonic() - self._checked >= self.refresh_s:
            self._refresh()
        return self._table

    def replace(self, table: RoutingTable, version_id: int) -> None:
        with self._lock:
            self._table, self._version_id, self._checked = table, version_id, time.monotonic()

    def _refresh(self) -> None:
        with self._lock:
            self._checked = time.monotonic()
            try:
                with self.database.sessions() as session:
                    newest = session.scalar(select(func.max(RoutingTableVersion.id)))
                    if newest is None or newest == self._version_id:
                        return
                    row = session.get(RoutingTableVersion, newest)
                    try:
                        table = RoutingTable.from_dict(row.content)
                    except ValueError as exc:
                        # Stored before tables were checked this closely: never let it break classifying.
                        logger.error("routing table version %d is malformed (%s); keeping %s", newest, exc,
                                     self._table.version)
                        self._version_id = newest
                        return
                    self._table, self._version_id = table, newest
                    logger.info("routing table %s (version %d) is in force", self._table.version, newest)
            except SQLAlchemyError as exc:
                logger.warning("could not check for a newer routing table (%s); keeping %s", exc.__class__.__name__,
                               self._table.version)
