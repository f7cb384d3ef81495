"""Tenant context of a transaction, read by the row-level security policies."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

TENANT_SETTING = "app.tenant_id"


def bind_tenant(session: Session, tenant_id: uuid.UUID | None) -> None:
    """`SET LOCAL app.tenant_id` for the current transaction (set_config with is_local=true).

    RLS policies compare `tenant_id` with this value, so a transaction sees only its
    tenant's rows; with no tenant bound it sees none.
    """
    value = "" if tenant_id is None else str(tenant_id)
    session.execute(select(func.set_config(TENANT_SETTING, value, True)))


def current_tenant(session: Session) -> uuid.UUID | None:
    value = session.execute(select(func.current_setting(TENANT_SETTING, True))).scalar()
    return uuid.UUID(value) if value else None
