"""OAuth2 password sign-in, refresh-token rotation, sign-out and TOTP enrolment."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status

from api.deps import Principal, ServicesDep, SessionDep, request_actor, require
from api.problems import Problem
from api.schemas.auth import (
    MfaConfirm,
    MfaEnrolment,
    MfaEnrolRequest,
    MfaStatus,
    RefreshRequest,
    TokenPair,
)
from api.services import Services
from transactional.base import utcnow
from transactional.identity.roles import Permission
from transactional.identity.signin import (
    FailureReason,
    SignedIn,
    SignInFailure,
    confirm_mfa_enrolment,
    refresh,
    sign_in,
    sign_out,
    start_mfa_enrolment,
)
from transactional.identity.tenants import get_current_tenant

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

Profile = Annotated[Principal, Depends(require(Permission.PROFILE_READ))]

_FAILURES = {
    FailureReason.INVALID_CREDENTIALS: (
        "invalid-credentials",
        "Invalid tenant, username or password.",
    ),
    FailureReason.ACCOUNT_LOCKED: ("account-locked", "Too many failed attempts; try again later."),
    FailureReason.MFA_REQUIRED: ("mfa-required", "A one-time code (otp) is required."),
    FailureReason.INVALID_OTP: ("invalid-otp", "The one-time code is not valid."),
    FailureReason.INVALID_TOKEN: ("invalid-refresh-token", "The refresh token is not valid."),
    FailureReason.TOKEN_REUSED: (
        "refresh-token-reused",
        "This refresh token was already used; the session has been revoked.",
    ),
    FailureReason.SESSION_ENDED: ("session-ended", "The session has ended; sign in again."),
}


def _token_pair(services: Services, outcome: SignedIn) -> TokenPair:
    access = services.tokens.issue(
        user=outcome.user, auth_session=outcome.auth_session, now=utcnow()
    )
    return TokenPair(
        access_token=access,
        refresh_token=outcome.refresh_token,
        expires_in=int(services.tokens.ttl.total_seconds()),
    )


def _answer(services: Services, event: str, outcome: SignedIn | SignInFailure) -> TokenPair:
    if isinstance(outcome, SignInFailure):
        services.metrics.auth_events.labels(event, outcome.reason.value).inc()
        kind, detail = _FAILURES[outcome.reason]
        # Keep the failed-attempt counter, any revocation and the audit event.
        raise Problem(401, kind, detail, headers={"WWW-Authenticate": "Bearer"}, keep_writes=True)
    services.metrics.auth_events.labels(event, "success").inc()
    return _token_pair(services, outcome)


def _rate_limit(request: Request, services: Services) -> None:
    client = request.client.host if request.client else "unknown"
    if not services.limiter.hit(services.token_rate, "token", client):
        stats = services.limiter.get_window_stats(services.token_rate, "token", client)
        retry_after = max(1, int(stats.reset_time - utcnow().timestamp()))
        raise Problem(
            429,
            detail="Too many sign-in attempts from this address.",
            headers={"Retry-After": str(retry_after)},
        )


@router.post("/token", response_model=TokenPair)
def issue_token(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=320)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    tenant: Annotated[str, Form(min_length=1, max_length=63)],
    otp: Annotated[str | None, Form(max_length=12)] = None,
) -> TokenPair:
    """OAuth2 password grant, with the tenant slug and an optional TOTP code."""
    _rate_limit(request, services)
    outcome = sign_in(
        session=session,
        tenant_slug=tenant,
        email=username,
        password=password,
        otp=otp,
        actor=request_actor(request),
        policy=services.policy,
        keyring=services.secrets.keyring,
        now=utcnow(),
    )
    return _answer(services, "login", outcome)


@router.post("/refresh", response_model=TokenPair)
def refresh_token(
    request: Request, services: ServicesDep, session: SessionDep, body: RefreshRequest
) -> TokenPair:
    """Spend a refresh token for a new pair; a token spent twice revokes its whole family."""
    outcome = refresh(
        session=session,
        raw_token=body.refresh_token,
        actor=request_actor(request),
        policy=services.policy,
        now=utcnow(),
    )
    return _answer(services, "refresh", outcome)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: Profile, session: SessionDep, services: ServicesDep) -> None:
    """End this sign-in session: its access and refresh tokens stop working at once."""
    sign_out(
        session=session,
        tenant_id=principal.tenant_id,
        session_id=principal.session_id,
        actor=principal.actor,
        now=utcnow(),
    )
    services.metrics.auth_events.labels("logout", "success").inc()


@router.post("/mfa/enroll", response_model=MfaEnrolment)
def enroll_mfa(
    body: MfaEnrolRequest, principal: Profile, session: SessionDep, services: ServicesDep
) -> MfaEnrolment:
    """Start TOTP enrolment; needs the current password again. Confirm with a code."""
    tenant = get_current_tenant(session=session, tenant_id=principal.tenant_id)
    assert tenant is not None
    enrolment = start_mfa_enrolment(
        session=session,
        user=principal.user,
        password=body.password,
        tenant_slug=tenant.slug,
        keyring=services.secrets.keyring,
        actor=principal.actor,
        policy=services.policy,
        now=utcnow(),
    )
    if enrolment is None:
        raise Problem(
            403, "reauthentication-failed", "The password is not correct.", keep_writes=True
        )
    secret, uri = enrolment
    return MfaEnrolment(secret=secret, otpauth_uri=uri)


@router.post("/mfa/confirm", response_model=MfaStatus)
def confirm_mfa(
    body: MfaConfirm, principal: Profile, session: SessionDep, services: ServicesDep
) -> MfaStatus:
    """Turn MFA on by proving the authenticator works; from then on sign-in needs a code."""
    confirmed = confirm_mfa_enrolment(
        session=session,
        user=principal.user,
        otp=body.otp,
        keyring=services.secrets.keyring,
        actor=principal.actor,
        now=utcnow(),
    )
    if not confirmed:
        raise Problem(422, "invalid-otp", "The one-time code is not valid.", keep_writes=True)
    return MfaStatus(mfa_enabled=True)
