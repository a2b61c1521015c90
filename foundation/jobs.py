"""What scheduled work did: one row per job, updated at each run, for the console to show
(the job engine keeps its own queue; this is what a manager needs to see)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.base import Base


class JobRun(Base):
    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column()
    last_finished_at: Mapped[datetime | None] = mapped_column()
    last_ok: Mapped[bool] = mapped_column(default=True)
    last_result: Mapped[int] = mapped_column(default=0)  # how many things the last run did
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(default=0)  # in a row, up to the last run
    runs: Mapped[int] = mapped_column(default=0)


def record_run(
    session: Session, name: str, started_at: datetime, finished_at: datetime, result: int | None, error: str = ""
) -> None:
    """Note one run of ``name``: ``result`` None means it failed with ``error``."""
    run = session.get(JobRun, name, with_for_update=True) or JobRun(name=name, runs=0, failures=0)
    session.add(run)
    run.last_started_at, run.last_finished_at = started_at, finished_at
    run.runs += 1
    run.last_ok = result is not None
    run.last_result = result or 0
    run.last_error = error[:2000]
    run.failures = 0 if result is not None else run.failures + 1


def is_ours(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparisons: the job engine's tables (``procrastinate_*``, made from its own
    schema by a migration) are not described by our models."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith("procrastinate_")
