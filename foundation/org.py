"""Who and where: sites, their locations, departments, people, tenants and devices."""

from __future__ import annotations

import enum
import functools
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from foundation.base import Base, new_uuid, str_enum, utcnow
from foundation.roles import CHECKLIST_WRITERS, Role

# werkzeug's scrypt: memory-hard, the modern default. Tests swap in a cheap method for speed.
PASSWORD_METHOD = "scrypt"


@functools.cache
def _hash_of_no_account(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def no_account_check(password: str) -> bool:
    """A login for a username nobody has costs the same hash as a wrong password, so its answer
    does not come sooner and tell who has an account."""
    check_password_hash(_hash_of_no_account(PASSWORD_METHOD), password)
    return False


def hash_password(password: str) -> str:
    """The stored form of a password (scrypt: slow on purpose, ~0.1 s; make it before a write
    transaction begins when there are many, foundation.people_import)."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


class LocationKind(str, enum.Enum):
    BUILDING = "building"
    FLOOR = "floor"
    AREA = "area"
    UNIT = "unit"
    CHECKPOINT = "checkpoint"


class Site(Base):
    """A building the department manages (大厦)."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)  # ticket number prefix, e.g. BY
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    address: Mapped[str] = mapped_column(String(255), default="")

    locations: Mapped[list[Location]] = relationship(back_populates="site")


class Department(Base):
    """客服部, 工程部, 保安部, 保洁: owner of tickets and of checklist templates."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", use_alter=True, name="fk_department_head_id_app_user")
    )


class Location(Base):
    """A place on a site: a building, a floor, an area (restroom, lift hall), a unit or a patrol
    checkpoint (``foundation.places`` keeps the tree)."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    kind: Mapped[LocationKind] = mapped_column(str_enum(LocationKind, 16))
    name: Mapped[str] = mapped_column(String(120))
    # For areas: which cleaning standard applies (restroom, lobby, …).
    area_type: Mapped[str | None] = mapped_column(String(32))
    # For checkpoints: the random code printed under the QR; never derived from the name.
    qr_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Archived, never deleted (records cite it): gone from phones and pickers, kept in history.
    archived_at: Mapped[datetime | None] = mapped_column()

    site: Mapped[Site] = relationship(back_populates="locations")
    parent: Mapped[Location | None] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        return f"{self.parent.full_name} · {self.name}" if self.parent else self.name


user_site = Table(
    "user_site",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A member of staff. The table is not called ``user``: that is reserved in PostgreSQL."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    phone: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A manager may let someone who is not one write checklists (roles.CHECKLIST_WRITERS do anyway).
    writes_checklists: Mapped[bool] = mapped_column(default=False)

    sites: Mapped[list[Site]] = relationship(secondary=user_site, order_by=Site.id)
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def site_ids(self) -> list[int]:
        return [site.id for site in self.sites]

    @property
    def may_write_checklists(self) -> bool:
        return self.writes_checklists or self.role in CHECKLIST_WRITERS

    def may_see_site(self, site_id: int) -> bool:
        return self.role == Role.ADMIN or site_id in self.site_ids

    def leads(self, department_code: str) -> bool:
        """A supervisor of that department (领班 of cleaning, 主管 of security …)."""
        return self.role == Role.SUPERVISOR and self.department is not None and self.department.code == department_code

    def sites_seen(self, session: Session) -> list[Site]:
        """Every site for an administrator; the person's own sites for everyone else."""
        if self.role == Role.ADMIN:
            return list(session.scalars(select(Site).order_by(Site.id)))
        return list(self.sites)

    # Flask-Login reads these four; the domain does not depend on Flask for them.
    @property
    def is_active(self) -> bool:
        return self.active

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class Tenant(Base):
    """A customer renting a unit (客户/业户)."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    moved_in_on: Mapped[datetime | None] = mapped_column()
    moved_out_on: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Location | None] = relationship()


class Device(Base):
    """A phone that syncs with a token. Only the token's hash is stored."""

    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    # Device clock minus server clock at the last push, in milliseconds.
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)  # a phone reset to 2000 is years off
    revoked_at: Mapped[datetime | None] = mapped_column()
    user_agent: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()


@dataclass(frozen=True)
class Origin:
    """Where a change came from, for every history: the web form, a synced device or the shell."""

    source: str  # "web", "sync" or "cli"
    device_id: uuid.UUID | None = None
    ip: str | None = None

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.source, self.ip) if part)


class LoginFailure(Base):
    """A failed login, kept briefly: the count over a window throttles guessing, and because it
    lives in the database it holds across every server worker."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(45), index=True)  # the client's IP address
    at: Mapped[datetime] = mapped_column(index=True)
