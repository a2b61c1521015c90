"""What the sync protocol itself stores: mutations applied (exactly once) and the change log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, FetchedValue, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.base import Base, utcnow


class AppliedMutation(Base):
    """A mutation id that was applied (or met a conflict). Its primary key is what makes a
    mutation apply at most once, even when two requests race: the second insert fails."""

    __tablename__ = "applied_mutation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    type: Mapped[str] = mapped_column(String(40))  # as long as the API lets a type be
    status: Mapped[str] = mapped_column(String(16))  # applied or conflict
    result: Mapped[dict] = mapped_column(JSON)  # the result first sent, returned again to retries
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Change(Base):
    """One change to an entity that devices pull, in the order ``(xact_id, seq)`` (the cursor;
    see ``sync.changes``)."""

    __tablename__ = "change"
    __table_args__ = (Index("ix_change_site_id_xact_id_seq", "site_id", "xact_id", "seq"),)

    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # PostgreSQL: the writing transaction's id (its column default, pg_current_xact_id()). SQLite,
    # whose writers take turns: 0.
    xact_id: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(40))
    op: Mapped[str] = mapped_column(String(8))  # upsert or delete
    site_id: Mapped[int | None] = mapped_column()  # None: every site (a shared template)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
