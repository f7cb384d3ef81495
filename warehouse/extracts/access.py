"""Who may take an extract, and the audit event every extract leaves.

An identified extract is PHI leaving the product: it needs a named, active user whose role
grants `analytics.phi.read`, and a refusal is audited as such. A de-identified extract needs
`analytics.read` when a user is named, and is audited too (as de-identified), by the user or
by the system for unattended runs. Audit details carry ids and counts, never PHI.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from transactional.audit.trail import SYSTEM, Actor, AuditEntry, Outcome, record
from transactional.database import Database
from transactional.identity.models import User
from transactional.identity.roles import Permission, Role, permissions_for
from transactional.tenancy import bind_tenant
from warehouse.extracts.extract import ExtractReport, ExtractRequest

IDENTIFIED = "extract.identified"
DEIDENTIFIED = "extract.deidentified"


class ExtractDenied(PermissionError):
    """The requester may not take this extract; the message is safe to show."""


@dataclass(frozen=True)
class Requester:
    actor: Actor
    email: str | None


def _action(identified: bool) -> str:
    return IDENTIFIED if identified else DEIDENTIFIED


def _deny(
    database: Database, tenant_id: uuid.UUID, actor: Actor, identified: bool, reason: str
) -> ExtractDenied:
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action=_action(identified),
                outcome=Outcome.DENIED,
                resource_type="extract",
                detail={"reason": reason},
            ),
        )
    return ExtractDenied(reason)


def authorize(
    database: Database, *, tenant_id: uuid.UUID, email: str | None, identified: bool
) -> Requester:
    """The actor to audit the extract under, or ExtractDenied (audited)."""
    if email is None:
        if identified:
            raise _deny(
                database,
                tenant_id,
                SYSTEM,
                identified,
                "an identified extract needs --user EMAIL of a user allowed analytics.phi.read",
            )
        return Requester(SYSTEM, None)
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        user = session.scalar(
            select(User).where(User.tenant_id == tenant_id, User.email == email.strip().lower())
        )
        found = (user.id, user.role, user.is_active) if user is not None else None
    if found is None or not found[2]:
        raise _deny(database, tenant_id, SYSTEM, identified, "no active user with that e-mail")
    actor = Actor(user_id=found[0], role=found[1])
    needed = Permission.ANALYTICS_PHI_READ if identified else Permission.ANALYTICS_READ
    if needed not in permissions_for(Role(found[1])):
        raise _deny(database, tenant_id, actor, identified, f"the user's role lacks {needed}")
    return Requester(actor, email)


def record_extract(
    database: Database, *, requester: Requester, request: ExtractRequest, report: ExtractReport
) -> None:
    """The success event, written before the files are published (see extract.write_extract)."""
    cohort = request.cohort
    with database.transaction() as session:
        bind_tenant(session, request.tenant_id)
        record(
            session=session,
            tenant_id=request.tenant_id,
            actor=requester.actor,
            entry=AuditEntry(
                action=_action(request.identified),
                resource_type="extract",
                resource_id=report.extract_id,
                detail={
                    "cohort": cohort.name if cohort else None,
                    "cohort_version": cohort.version if cohort else None,
                    "marts": list(request.marts),
                    "tables": sorted(report.rows),
                    "rows": sum(report.rows.values()),
                    "patients": report.patients,
                    "dates": "as recorded" if request.identified else request.dates,
                },
            ),
        )
