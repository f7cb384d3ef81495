"""The front-desk queue of a location: an authenticated PHI read, audited as one event."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Principal, SessionDep, require
from api.schemas.scheduling import FrontDeskQueue, QueueEntryOut
from transactional.identity.roles import Permission
from transactional.scheduling.queue import front_desk_queue

router = APIRouter(prefix="/api/v1/front-desk", tags=["front desk"])

Reader = Annotated[Principal, Depends(require(Permission.SCHEDULE_READ))]


@router.get("/queue", response_model=FrontDeskQueue)
def queue(location_id: uuid.UUID, principal: Reader, session: SessionDep) -> FrontDeskQueue:
    """Checked in today (in the location's time zone), in order of check-in."""
    found = front_desk_queue(
        session=session,
        tenant_id=principal.tenant_id,
        location_id=location_id,
        actor=principal.actor,
    )
    return FrontDeskQueue(
        location_id=found.location_id,
        time_zone=found.time_zone,
        items=[QueueEntryOut.model_validate(entry) for entry in found.entries],
    )
