"""Signing managers in: the same sign-in as the API (lockout, MFA, audit), a role that
grants `analytics.read`, and the sign-in session checked again on every rerun so sign-out,
revocation and the idle timeout end dashboard access too."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from dashboards.context import Context
from transactional.audit.trail import Actor, AuditEntry, record
from transactional.identity.roles import Permission, Role, permissions_for
from transactional.identity.signin import (
    FailureReason,
    SignedIn,
    active_session_user,
    sign_in,
    sign_out,
)
from transactional.tenancy import bind_tenant

VIEWER = "emr.viewer"
USER_AGENT = "emr-dashboards"
MESSAGES = {
    FailureReason.INVALID_CREDENTIALS: "Unknown clinic, e-mail or password.",
    FailureReason.ACCOUNT_LOCKED: "This account is locked after too many failed attempts; "
    "try again later.",
    FailureReason.MFA_REQUIRED: "Enter the code from your authenticator app.",
    FailureReason.INVALID_OTP: "That code is not valid.",
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, as the dashboards need them."""

    tenant_id: uuid.UUID
    tenant_slug: str
    user_id: uuid.UUID
    session_id: uuid.UUID
    email: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in permissions_for(self.role)

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, role=self.role.value, user_agent=USER_AGENT)


def _now() -> datetime:
    return datetime.now(UTC)


def attempt(
    ctx: Context, *, tenant_slug: str, email: str, password: str, otp: str | None
) -> Viewer | str:
    """A viewer, or the message to show (never which of clinic, e-mail or password was wrong)."""
    with ctx.database.transaction() as session:
        outcome = sign_in(
            session=session,
            tenant_slug=tenant_slug,
            email=email,
            password=password,
            otp=otp or None,
            actor=Actor(user_id=None, role=None, user_agent=USER_AGENT),
            policy=ctx.policy,
            keyring=ctx.keyring,
            now=_now(),
        )
        if not isinstance(outcome, SignedIn):
            failure = outcome.reason
        else:
            failure = None
            viewer = Viewer(
                tenant_id=outcome.user.tenant_id,
                tenant_slug=tenant_slug.strip().lower(),
                user_id=outcome.user.id,
                session_id=outcome.auth_session.id,
                email=outcome.user.email,
                role=Role(outcome.user.role),
            )
    # The failed-attempt counter and the audit event are committed before answering.
    if failure is not None:
        return MESSAGES.get(failure, "Sign-in failed.")
    if not viewer.may(Permission.ANALYTICS_READ):
        end(ctx, viewer)
        return "Your role does not give access to the dashboards."
    return viewer


def still_signed_in(ctx: Context, viewer: Viewer) -> bool:
    with ctx.database.transaction() as session:
        user = active_session_user(
            session=session,
            tenant_id=viewer.tenant_id,
            session_id=viewer.session_id,
            user_id=viewer.user_id,
            policy=ctx.policy,
            now=_now(),
        )
        return user is not None and user.role == viewer.role.value


def end(ctx: Context, viewer: Viewer) -> None:
    with ctx.database.transaction() as session:
        bind_tenant(session, viewer.tenant_id)
        sign_out(
            session=session,
            tenant_id=viewer.tenant_id,
            session_id=viewer.session_id,
            actor=viewer.actor,
            now=_now(),
        )


def audit_phi_view(ctx: Context, viewer: Viewer, *, what: str, rows: int) -> None:
    """Every patient-level list shown is a read of PHI: one audit event, counts only."""
    with ctx.database.transaction() as session:
        bind_tenant(session, viewer.tenant_id)
        record(
            session=session,
            tenant_id=viewer.tenant_id,
            actor=viewer.actor,
            entry=AuditEntry(
                action="dashboard.phi_list",
                resource_type=what,
                detail={"rows": rows},
            ),
        )


def current_viewer() -> Viewer | None:
    viewer = st.session_state.get(VIEWER)
    return viewer if isinstance(viewer, Viewer) else None


def login_form(ctx: Context) -> None:
    st.title("EMR dashboards")
    st.caption("Sign in with your clinic's short name, your e-mail and your password.")
    with st.form("sign_in"):
        tenant = st.text_input("Clinic", key="login_tenant")
        email = st.text_input("E-mail", key="login_email")
        password = st.text_input("Password", type="password", key="login_password")
        otp = st.text_input("Authenticator code (if enabled)", key="login_otp")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if not (tenant and email and password):
            st.error("Enter the clinic, your e-mail and your password.")
            return
        result = attempt(ctx, tenant_slug=tenant, email=email, password=password, otp=otp)
        if isinstance(result, str):
            st.error(result)
            return
        st.session_state[VIEWER] = result
        st.rerun()
