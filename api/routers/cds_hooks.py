"""CDS Hooks 2.0: service discovery and the patient-view and order-select services.

Mounted at the CDS Hooks base URL (`/cds-services`), authenticated with the API's bearer
token like every other route (permission `chart.read`); each call is audited as a read of
the patient's chart. A patient of another tenant, or an id that names none, is a 404.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Principal, SessionDep, require
from api.schemas.cds_hooks import (
    ActionOut,
    CardOut,
    CardsOut,
    CodingOut,
    DiscoveryOut,
    HookRequestIn,
    LinkOut,
    ServiceOut,
    SourceOut,
    SuggestionOut,
)
from transactional.cds import services
from transactional.cds.sources import HookContext
from transactional.cds.types import Card, Coding, DraftMedication
from transactional.errors import InvalidInput, NotFound
from transactional.identity.roles import Permission

router = APIRouter(tags=["cds-hooks"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]


def _identifier(value: str | None, what: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{what} not found") from None


def _context(body: HookRequestIn) -> HookContext:
    drafts = []
    bundle = body.context.draftOrders
    for entry in bundle.entry if bundle else []:
        resource = entry.resource
        if resource is None or resource.resourceType != "MedicationRequest":
            continue
        if not resource.id:
            raise InvalidInput("each draft MedicationRequest needs an id")
        concept = resource.medicationCodeableConcept
        drafts.append(
            DraftMedication(
                reference=f"MedicationRequest/{resource.id}",
                codings=tuple(
                    (c.system, c.code, c.display)
                    for c in (concept.coding if concept else [])
                    if c.system and c.code
                ),
            )
        )
    patient_id = _identifier(body.context.patientId, "patient")
    assert patient_id is not None
    return HookContext(
        hook=body.hook,
        hook_instance=body.hookInstance,
        patient_id=patient_id,
        user_reference=body.context.userId,
        encounter_id=_identifier(body.context.encounterId, "encounter"),
        drafts=tuple(drafts),
        selections=tuple(body.context.selections or ()),
    )


def _coding(coding: Coding) -> CodingOut:
    return CodingOut(system=coding.system, code=coding.code, display=coding.display)


def card_out(card: Card, hook_instance: str) -> CardOut:
    """Card and suggestion uuids are derived from the hook instance and the card's subject:
    unique per call, stable if the client retries it."""
    card_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:emr:cds:{hook_instance}:{card.key}")
    suggestions = [
        SuggestionOut(
            label=s.label,
            uuid=str(uuid.uuid5(card_uuid, str(index))),
            isRecommended=s.is_recommended,
            actions=[
                ActionOut(type=a.type, description=a.description, resourceId=a.resource_id)
                for a in s.actions
            ]
            or None,
        )
        for index, s in enumerate(card.suggestions)
    ]
    return CardOut(
        uuid=str(card_uuid),
        summary=card.summary,
        detail=card.detail,
        indicator=card.indicator,
        source=SourceOut(
            label=card.source_label,
            url=card.source_url,
            topic=_coding(card.topic) if card.topic else None,
        ),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=[_coding(r) for r in card.override_reasons] or None,
        links=[LinkOut(label=k.label, url=k.url, type=k.type) for k in card.links] or None,
        extension={
            "emr.alert": {
                "id": str(card.alert_id),
                "acknowledge": f"/api/v1/alerts/{card.alert_id}/acknowledge",
                "override": f"/api/v1/alerts/{card.alert_id}/override",
            }
        }
        if card.alert_id
        else None,
    )


@router.get("/cds-services", response_model=DiscoveryOut, response_model_exclude_none=True)
def discovery(principal: Reader) -> DiscoveryOut:
    return DiscoveryOut(
        services=[
            ServiceOut(hook=s.hook, title=s.title, description=s.description, id=s.id)
            for s in services.catalog()
        ]
    )


@router.post(
    "/cds-services/{service_id}", response_model=CardsOut, response_model_exclude_none=True
)
def call_service(
    service_id: str, body: HookRequestIn, principal: Reader, session: SessionDep
) -> CardsOut:
    service = services.find_service(service_id)
    cards = services.run_service(
        session=session,
        tenant_id=principal.tenant_id,
        service=service,
        context=_context(body),
        actor=principal.actor,
    )
    return CardsOut(cards=[card_out(card, body.hookInstance) for card in cards])
