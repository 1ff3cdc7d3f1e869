"""Local users (argon2id password hashes) and the web sessions they sign in with.

A password is checked in the same time whether the user exists or not: an unknown name
is verified against a dummy hash. A session cookie is 32 random bytes of which only a
SHA-256 is stored; changing a password or disabling a user ends all of its sessions.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Row, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from opsbook.errors import UsageError
from opsbook.store.api_tokens import Role
from opsbook.store.tables import users, web_sessions
from opsbook.store.transaction import write_transaction

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; the cap bounds what a request can send
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")  # no ':' so never like 'api:<token>'
SESSION_SECRET_CHARS = 43  # secrets.token_urlsafe(32)
SEEN_EVERY = timedelta(minutes=1)

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a user name, or None."""
    if NAME.fullmatch(name) is None:
        return (
            "a user name has 1 to 100 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return None


def password_problem(password: str) -> str | None:
    """Why `password` is not accepted, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} characters"
    return None


@functools.cache
def _dummy_hash() -> str:
    """A hash with the same parameters as real ones, of a password nobody knows."""
    return _hasher.hash(secrets.token_urlsafe(32))


def warm_up() -> None:
    """Compute the dummy hash now, so the first unknown name is not slower than later ones."""
    _dummy_hash()


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def _user(row: Row[Any]) -> User:
    return User(row.id, row.name, Role(row.role), row.created_at, row.disabled_at)


class UserRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, name: str, password: str, role: Role, now: datetime) -> User:
        """A new user; UsageError for a bad name or password or a name in use."""
        problem = name_problem(name) or password_problem(password)
        if problem:
            raise UsageError(problem)
        digest = _hasher.hash(password)
        try:
            with write_transaction(self._engine) as conn:
                if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                    raise UsageError(f"user {name!r} exists")
                new_id = conn.execute(
                    users.insert()
                    .values(name=name, password_hash=digest, role=role.value, created_at=now)
                    .returning(users.c.id)
                ).scalar_one()
        except IntegrityError:  # a concurrent add of the same name on PostgreSQL
            raise UsageError(f"user {name!r} exists") from None
        return User(new_id, name, role, now, None)

    def get(self, name: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return _user(row) if row is not None else None

    def list(self) -> builtins.list[User]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).all()
        return [_user(row) for row in rows]

    def check_password(self, name: str, password: str) -> User | None:
        """The user if `password` is theirs (disabled or not: the caller decides), else
        None. Takes one argon2 verification whether or not the name exists."""
        if len(password) > MAX_PASSWORD or len(name) > 100:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        stored = row.password_hash if row is not None else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):  # parameters were raised since it was set
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(users)
                    .where(users.c.id == row.id)
                    .values(password_hash=_hasher.hash(password))
                )
        return _user(row)

    def set_password(self, name: str, password: str) -> bool:
        """Change the password and end the user's sessions; False if there is no such user."""
        problem = password_problem(password)
        if problem:
            raise UsageError(problem)
        digest = _hasher.hash(password)
        with write_transaction(self._engine) as conn:
            user_id = conn.execute(
                update(users)
                .where(users.c.name == name)
                .values(password_hash=digest)
                .returning(users.c.id)
            ).scalar()
            if user_id is None:
                return False
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return True

    def disable(self, name: str, now: datetime) -> bool:
        """Disable a live user and end its sessions; False if none by that name is live."""
        with write_transaction(self._engine) as conn:
            user_id = conn.execute(
                update(users)
                .where(users.c.name == name, users.c.disabled_at.is_(None))
                .values(disabled_at=now)
                .returning(users.c.id)
            ).scalar()
            if user_id is None:
                return False
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return True


@dataclass(frozen=True, slots=True)
class WebSession:
    user: str
    role: Role
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class WebSessionRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, user: User, now: datetime, lifetime: timedelta) -> tuple[WebSession, str]:
        """A new session for `user` and the secret that goes into its cookie. Expired
        sessions of everyone are removed on the way."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + lifetime
        with write_transaction(self._engine) as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
            conn.execute(
                web_sessions.insert().values(
                    id_hash=_hash(secret),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires,
                    last_seen_at=now,
                    csrf_token=csrf,
                )
            )
        return WebSession(user.name, user.role, csrf, now, expires, now), secret

    def authenticate(self, secret: str, now: datetime) -> WebSession | None:
        """The live session the cookie value `secret` proves, or None (unknown, expired,
        signed out, or its user disabled)."""
        if len(secret) != SESSION_SECRET_CHARS:
            return None
        key = _hash(secret)
        query = (
            select(web_sessions, users.c.name, users.c.role, users.c.disabled_at)
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id_hash == key)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.disabled_at is not None or row.expires_at <= now:
            return None
        seen = row.last_seen_at
        if now - seen >= SEEN_EVERY:  # at most one write a minute per session
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.id_hash == key)
                    .values(last_seen_at=now)
                )
            seen = now
        return WebSession(
            row.name, Role(row.role), row.csrf_token, row.created_at, row.expires_at, seen
        )

    def end(self, secret: str) -> bool:
        """Sign out: forget the session; False if there was none."""
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                delete(web_sessions).where(web_sessions.c.id_hash == _hash(secret))
            )
        return bool(result.rowcount)

    def count(self, name: str | None = None) -> int:
        """Sessions stored (of user `name`), expired ones included until they are pruned."""
        query = select(func.count()).select_from(web_sessions)
        if name is not None:
            query = query.join(users, users.c.id == web_sessions.c.user_id).where(
                users.c.name == name
            )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
