"""Managing users of one tenant. The caller binds the tenant and owns the transaction."""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import AuthSession, User
from transactional.identity.passwords import check_password_policy, hash_password
from transactional.identity.roles import Role


@dataclass(frozen=True)
class NewUser:
    email: str
    role: Role
    password: str
    display_name: str | None = None


@dataclass(frozen=True)
class UserChanges:
    display_name: str | None = None
    role: Role | None = None
    is_active: bool | None = None


def _audit_user(
    session: Session,
    actor: Actor,
    user: User,
    action: str,
    detail: dict[str, str | bool | None] | None = None,
) -> None:
    entry = AuditEntry(
        action=action, resource_type="user", resource_id=user.id, detail=detail or {}
    )
    record(session=session, tenant_id=user.tenant_id, actor=actor, entry=entry)


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 320 or " " in email:
        raise InvalidInput("email is not a valid address")
    return email


def create_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: NewUser,
    actor: Actor,
    password_min_length: int,
) -> User:
    email = _normalize_email(data.email)
    check_password_policy(data.password, email=email, min_length=password_min_length)
    taken = session.scalar(select(User.id).where(User.tenant_id == tenant_id, User.email == email))
    if taken is not None:
        raise Conflict("a user with this email already exists in the tenant")
    user = User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        email=email,
        display_name=(data.display_name or email.split("@")[0]).strip()[:200],
        role=data.role.value,
        password_hash=hash_password(data.password),
        is_active=True,
        failed_login_count=0,
        mfa_enabled=False,
    )
    session.add(user)
    session.flush()
    _audit_user(session, actor, user, "user.create", detail={"role": user.role})
    return user


def get_user(*, session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))
    if user is None:
        raise NotFound("user not found")
    return user


def list_users(
    *, session: Session, tenant_id: uuid.UUID, limit: int, after_email: str | None = None
) -> list[User]:
    query = select(User).where(User.tenant_id == tenant_id)
    if after_email is not None:
        query = query.where(User.email > after_email)
    return list(session.scalars(query.order_by(User.email).limit(limit)))


def count_users(*, session: Session, tenant_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).where(User.tenant_id == tenant_id)) or 0


def update_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    changes: UserChanges,
    actor: Actor,
) -> User:
    user = get_user(session=session, tenant_id=tenant_id, user_id=user_id)
    if user.id == actor.user_id and (changes.role is not None or changes.is_active is False):
        raise Conflict("administrators cannot change their own role or deactivate themselves")
    changed: dict[str, str | bool | None] = {}
    if changes.display_name is not None:
        user.display_name = changes.display_name.strip()[:200]
        changed["display_name"] = True
    if changes.role is not None and changes.role.value != user.role:
        changed["role_from"], changed["role_to"] = user.role, changes.role.value
        user.role = changes.role.value
    if changes.is_active is not None and changes.is_active != user.is_active:
        user.is_active = changes.is_active
        changed["is_active"] = changes.is_active
    if changes.role is not None or changes.is_active is False:
        revoke_user_sessions(session=session, user=user, reason="account_changed")
    session.flush()
    _audit_user(session, actor, user, "user.update", detail=changed)
    return user


def unlock_user(
    *, session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID, actor: Actor
) -> User:
    user = get_user(session=session, tenant_id=tenant_id, user_id=user_id)
    user.failed_login_count = 0
    user.locked_until = None
    _audit_user(session, actor, user, "user.unlock")
    return user


def reset_mfa(*, session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID, actor: Actor) -> User:
    """For a lost authenticator: the user must enrol again; their sessions end."""
    user = get_user(session=session, tenant_id=tenant_id, user_id=user_id)
    user.mfa_enabled = False
    user.mfa_secret_encrypted = None
    user.mfa_last_used_step = None
    revoke_user_sessions(session=session, user=user, reason="mfa_reset")
    _audit_user(session, actor, user, "user.mfa_reset")
    return user


def revoke_user_sessions(*, session: Session, user: User, reason: str) -> None:
    for auth_session in session.scalars(
        select(AuthSession).where(
            AuthSession.tenant_id == user.tenant_id,
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
        )
    ):
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = reason
