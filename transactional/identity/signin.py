"""Sign-in, refresh-token rotation, session validation and sign-out.

A sign-in session is a refresh-token family. Every refresh spends its token and issues the
next one; presenting a spent token means it leaked, so the whole family is revoked.
Failures return a `SignInFailure` instead of raising, so the caller can commit the failed-
attempt counter and the audit event before answering.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, Outcome, record
from transactional.errors import Conflict
from transactional.identity import mfa
from transactional.identity.models import AuthSession, RefreshToken, User
from transactional.identity.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from transactional.identity.tenants import tenant_id_for_slug
from transactional.secrets import Keyring
from transactional.tenancy import bind_tenant


@dataclass(frozen=True)
class AuthPolicy:
    refresh_ttl: timedelta
    idle_timeout: timedelta
    lockout_threshold: int
    lockout_duration: timedelta


class FailureReason(StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    ACCOUNT_LOCKED = "account_locked"
    MFA_REQUIRED = "mfa_required"
    INVALID_OTP = "invalid_otp"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - reason codes, not secrets
    TOKEN_REUSED = "token_reused"  # noqa: S105
    SESSION_ENDED = "session_ended"


@dataclass(frozen=True)
class SignInFailure:
    reason: FailureReason


@dataclass(frozen=True)
class SignedIn:
    user: User
    auth_session: AuthSession
    refresh_token: str


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue_refresh_token(*, session: Session, auth_session: AuthSession, now: datetime) -> str:
    secret = secrets.token_urlsafe(32)
    token = RefreshToken(
        id=uuid.uuid4(),
        tenant_id=auth_session.tenant_id,
        session_id=auth_session.id,
        secret_hash=_hash_secret(secret),
        issued_at=now,
        expires_at=auth_session.expires_at,
    )
    session.add(token)
    session.flush()
    return f"{auth_session.tenant_id}.{token.id}.{secret}"


def _audit(
    session: Session,
    tenant_id: uuid.UUID | None,
    actor: Actor,
    action: str,
    outcome: Outcome,
    reason: FailureReason | None = None,
) -> None:
    detail = {"reason": reason.value} if reason else {}
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action=action, outcome=outcome, detail=detail),
    )


def _register_failure(user: User, policy: AuthPolicy, now: datetime) -> None:
    user.failed_login_count += 1
    if user.failed_login_count >= policy.lockout_threshold:
        user.locked_until = now + policy.lockout_duration


def sign_in(
    *,
    session: Session,
    tenant_slug: str,
    email: str,
    password: str,
    otp: str | None,
    actor: Actor,
    policy: AuthPolicy,
    keyring: Keyring,
    now: datetime,
) -> SignedIn | SignInFailure:
    tenant_id = tenant_id_for_slug(session=session, slug=tenant_slug.strip().lower())
    bind_tenant(session, tenant_id)
    if tenant_id is None:
        verify_password(dummy_hash(), password)
        _audit(
            session, None, actor, "auth.login", Outcome.FAILURE, FailureReason.INVALID_CREDENTIALS
        )
        return SignInFailure(FailureReason.INVALID_CREDENTIALS)

    user = session.scalar(
        select(User)
        .where(User.tenant_id == tenant_id, User.email == email.strip().lower())
        .with_for_update()
    )
    who = Actor(
        user_id=user.id if user else None,
        role=user.role if user else None,
        client_address=actor.client_address,
        user_agent=actor.user_agent,
    )

    def fail(reason: FailureReason) -> SignInFailure:
        _audit(session, tenant_id, who, "auth.login", Outcome.FAILURE, reason)
        return SignInFailure(reason)

    if user is None or not user.is_active:
        verify_password(dummy_hash(), password)
        return fail(FailureReason.INVALID_CREDENTIALS)
    if user.locked_until is not None:
        if user.locked_until > now:
            return fail(FailureReason.ACCOUNT_LOCKED)
        user.locked_until, user.failed_login_count = None, 0
    if not verify_password(user.password_hash, password):
        _register_failure(user, policy, now)
        return fail(FailureReason.INVALID_CREDENTIALS)
    if user.mfa_enabled:
        if not otp:
            return fail(FailureReason.MFA_REQUIRED)
        if not mfa.verify_code(user=user, code=otp, keyring=keyring, now=now):
            _register_failure(user, policy, now)
            return fail(FailureReason.INVALID_OTP)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_login_count, user.locked_until = 0, None
    auth_session = AuthSession(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.refresh_ttl,
    )
    session.add(auth_session)
    session.flush()
    refresh_token = _issue_refresh_token(session=session, auth_session=auth_session, now=now)
    _audit(session, tenant_id, who, "auth.login", Outcome.SUCCESS)
    return SignedIn(user=user, auth_session=auth_session, refresh_token=refresh_token)


def _session_ended(auth_session: AuthSession, policy: AuthPolicy, now: datetime) -> bool:
    return (
        auth_session.revoked_at is not None
        or auth_session.expires_at <= now
        or now - auth_session.last_seen_at > policy.idle_timeout
    )


def _revoke(auth_session: AuthSession, reason: str, now: datetime) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason


def _parse_refresh_token(raw: str) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    parts = raw.split(".")
    if len(parts) != 3:
        return None
    try:
        return uuid.UUID(parts[0]), uuid.UUID(parts[1]), parts[2]
    except ValueError:
        return None


def refresh(
    *, session: Session, raw_token: str, actor: Actor, policy: AuthPolicy, now: datetime
) -> SignedIn | SignInFailure:
    parsed = _parse_refresh_token(raw_token)
    if parsed is None:
        return SignInFailure(FailureReason.INVALID_TOKEN)
    tenant_id, token_id, secret = parsed
    bind_tenant(session, tenant_id)
    token = session.scalar(
        select(RefreshToken).where(RefreshToken.id == token_id).with_for_update()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, _hash_secret(secret)):
        # The tenant named in a forged token may not exist: record on the system chain.
        bind_tenant(session, None)
        _audit(session, None, actor, "auth.refresh", Outcome.FAILURE, FailureReason.INVALID_TOKEN)
        return SignInFailure(FailureReason.INVALID_TOKEN)
    auth_session = session.get_one(AuthSession, token.session_id, with_for_update=True)
    user = session.get_one(User, auth_session.user_id)
    who = Actor(user.id, user.role, actor.client_address, actor.user_agent)

    def fail(reason: FailureReason) -> SignInFailure:
        _audit(session, tenant_id, who, "auth.refresh", Outcome.FAILURE, reason)
        return SignInFailure(reason)

    if token.used_at is not None:
        _revoke(auth_session, "refresh_token_reuse", now)
        return fail(FailureReason.TOKEN_REUSED)
    if _session_ended(auth_session, policy, now) or not user.is_active:
        _revoke(auth_session, "ended", now)
        return fail(FailureReason.SESSION_ENDED)
    token.used_at = now
    auth_session.last_seen_at = now
    new_token = _issue_refresh_token(session=session, auth_session=auth_session, now=now)
    _audit(session, tenant_id, who, "auth.refresh", Outcome.SUCCESS)
    return SignedIn(user=user, auth_session=auth_session, refresh_token=new_token)


_TOUCH_INTERVAL = timedelta(seconds=30)


def active_session_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    policy: AuthPolicy,
    now: datetime,
) -> User | None:
    """The user behind an access token, if its sign-in session is still live.

    Marks activity (at most every 30 s) so the idle timeout counts from the last request.
    """
    bind_tenant(session, tenant_id)
    auth_session = session.get(AuthSession, session_id)
    if auth_session is None or auth_session.user_id != user_id:
        return None
    if _session_ended(auth_session, policy, now):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if now - auth_session.last_seen_at > _TOUCH_INTERVAL:
        auth_session.last_seen_at = now
    return user


def sign_out(
    *, session: Session, tenant_id: uuid.UUID, session_id: uuid.UUID, actor: Actor, now: datetime
) -> None:
    auth_session = session.get_one(AuthSession, session_id)
    _revoke(auth_session, "logout", now)
    _audit(session, tenant_id, actor, "auth.logout", Outcome.SUCCESS)


def start_mfa_enrolment(
    *,
    session: Session,
    user: User,
    password: str,
    tenant_slug: str,
    keyring: Keyring,
    actor: Actor,
    policy: AuthPolicy,
    now: datetime,
) -> tuple[str, str] | None:
    """A new TOTP secret and its otpauth URI; None if the password is wrong.

    The password is asked again so that a stolen access token cannot bind the account to an
    attacker's authenticator; wrong answers count toward the lockout.
    """
    if user.mfa_enabled:
        raise Conflict("multi-factor authentication is already enabled; an admin can reset it")
    if not verify_password(user.password_hash, password):
        _register_failure(user, policy, now)
        _audit(session, user.tenant_id, actor, "auth.mfa_enrol_start", Outcome.FAILURE)
        return None
    secret = mfa.new_secret(user=user, keyring=keyring)
    user.mfa_last_used_step = None
    record(
        session=session,
        tenant_id=user.tenant_id,
        actor=actor,
        entry=AuditEntry(action="auth.mfa_enrol_start", resource_type="user", resource_id=user.id),
    )
    uri = mfa.provisioning_uri(secret=secret, account=user.email, tenant_slug=tenant_slug)
    return secret, uri


def confirm_mfa_enrolment(
    *, session: Session, user: User, otp: str, keyring: Keyring, actor: Actor, now: datetime
) -> bool:
    if user.mfa_enabled:
        raise Conflict("multi-factor authentication is already enabled")
    if user.mfa_secret_encrypted is None:
        raise Conflict("start enrolment first")
    ok = mfa.verify_code(user=user, code=otp, keyring=keyring, now=now)
    if ok:
        user.mfa_enabled = True
    record(
        session=session,
        tenant_id=user.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="auth.mfa_enrol_confirm",
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            resource_type="user",
            resource_id=user.id,
        ),
    )
    return ok
