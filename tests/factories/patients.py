"""Keyword-only patient factory, written through the real registration service."""

import uuid
from datetime import date
from typing import Any

from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.patients.models import Patient
from transactional.patients.registry import Demographics, register_patient
from transactional.secrets import Secrets
from transactional.tenancy import bind_tenant


def make_patient(
    *,
    database: Database,
    tenant: Tenant,
    ssn: str | None = None,
    secrets: Secrets | None = None,
    **fields: Any,
) -> Patient:
    values: dict[str, Any] = {
        "given_name": "Alex",
        "family_name": f"Testpatient{uuid.uuid4().hex[:6]}",
        "birth_date": date(1970, 5, 17),
        "sex": "female",
    } | fields
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return register_patient(
            session=session,
            tenant_id=tenant.id,
            data=Demographics(**values),
            actor=SYSTEM,
            ssn=ssn,
            secrets=secrets,
        )
