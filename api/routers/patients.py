"""Patient registration, demographics, search, SSN disclosure and merge."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, ServicesDep, SessionDep, require
from api.schemas.patients import (
    AddressOut,
    EmergencyContactOut,
    IdentifierOut,
    MergeRequest,
    PatientCreate,
    PatientOut,
    PatientPage,
    PatientSearch,
    PatientUpdate,
    SsnOut,
)
from transactional.audit.trail import AuditEntry, record
from transactional.identity.roles import Permission
from transactional.patients import registry
from transactional.patients.merge import merge_patients
from transactional.patients.models import Patient
from transactional.patients.search import PatientQuery, search_patients
from transactional.patients.ssn import mask, open_ssn

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])

Reader = Annotated[Principal, Depends(require(Permission.PATIENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PATIENT_WRITE))]
Merger = Annotated[Principal, Depends(require(Permission.PATIENT_MERGE))]
SsnReader = Annotated[Principal, Depends(require(Permission.PATIENT_SSN_READ))]


def patient_out(patient: Patient) -> PatientOut:
    return PatientOut(
        id=patient.id,
        mrn=patient.mrn,
        given_name=patient.given_name,
        middle_name=patient.middle_name,
        family_name=patient.family_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        gender_identity=patient.gender_identity,
        race=patient.race,
        ethnicity=patient.ethnicity,
        preferred_language=patient.preferred_language,
        phone=patient.phone,
        email=patient.email,
        address=AddressOut(
            line1=patient.address_line1,
            line2=patient.address_line2,
            city=patient.city,
            state=patient.state,
            postal_code=patient.postal_code,
            country=patient.country,
        ),
        emergency_contact=EmergencyContactOut(
            name=patient.emergency_contact_name,
            relationship=patient.emergency_contact_relationship,
            phone=patient.emergency_contact_phone,
        ),
        ssn=mask(patient.ssn_last4),
        identifiers=[IdentifierOut.model_validate(i) for i in patient.identifiers],
        created_at=patient.created_at,
        updated_at=patient.updated_at,
        version=patient.version,
    )


def _flatten(body: dict[str, Any]) -> dict[str, Any]:
    """API shape (nested address and emergency contact) → the service's flat fields."""
    flat = {k: v for k, v in body.items() if k not in ("address", "emergency_contact")}
    if "address" in body:
        address = body["address"] or {}
        for key in ("line1", "line2"):
            if key in address or body["address"] is None:
                flat[f"address_{key}"] = address.get(key)
        for key in ("city", "state", "postal_code", "country"):
            if key in address or body["address"] is None:
                flat[key] = address.get(key)
    if "emergency_contact" in body:
        contact = body["emergency_contact"] or {}
        for key in ("name", "relationship", "phone"):
            if key in contact or body["emergency_contact"] is None:
                flat[f"emergency_contact_{key}"] = contact.get(key)
    return flat


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED)
def register(
    body: PatientCreate, principal: Writer, session: SessionDep, services: ServicesDep
) -> PatientOut:
    fields = _flatten(body.model_dump(exclude={"ssn", "identifiers"}, exclude_unset=True))
    patient = registry.register_patient(
        session=session,
        tenant_id=principal.tenant_id,
        data=registry.Demographics(**fields),
        actor=principal.actor,
        ssn=body.ssn,
        secrets=services.secrets,
        identifiers=tuple(registry.Identifier(**i.model_dump()) for i in body.identifiers),
    )
    session.refresh(patient)
    return patient_out(patient)


@router.get("", response_model=PatientPage)
def search(
    principal: Reader,
    session: SessionDep,
    services: ServicesDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Name (fuzzy), MRN or phone")
    ] = None,
    birth_date: date | None = None,
    mrn: Annotated[str | None, Query(max_length=9)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    identifier: Annotated[
        str | None, Query(max_length=301, description="value or system|value")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: uuid.UUID | None = None,
) -> PatientPage:
    query = PatientQuery(text=q, birth_date=birth_date, mrn=mrn, phone=phone, identifier=identifier)
    return _search(principal, session, services, query, limit, cursor)


@router.post("/search", response_model=PatientPage)
def search_by_body(
    body: PatientSearch, principal: Reader, session: SessionDep, services: ServicesDep
) -> PatientPage:
    """The same search, with the criteria in the body: for an SSN, which must not be in a URL."""
    query = PatientQuery(
        text=body.q,
        birth_date=body.birth_date,
        phone=body.phone,
        identifier=body.identifier,
        ssn=body.ssn,
    )
    return _search(principal, session, services, query, body.limit, body.cursor)


def _search(
    principal: Principal,
    session: SessionDep,
    services: ServicesDep,
    query: PatientQuery,
    limit: int,
    cursor: uuid.UUID | None,
) -> PatientPage:
    page = search_patients(
        session=session,
        tenant_id=principal.tenant_id,
        query=query,
        limit=limit,
        cursor=cursor,
        actor=principal.actor,
        index_key=services.secrets.blind_index_key,
    )
    return PatientPage(items=[patient_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/{patient_id}", response_model=PatientOut)
def read(patient_id: uuid.UUID, principal: Reader, session: SessionDep) -> PatientOut:
    """A merged record's id answers with the surviving record."""
    patient = registry.read_patient(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return patient_out(patient)


@router.patch("/{patient_id}", response_model=PatientOut)
def update(
    patient_id: uuid.UUID,
    body: PatientUpdate,
    principal: Writer,
    session: SessionDep,
    services: ServicesDep,
) -> PatientOut:
    patient = registry.update_patient(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        changes=_flatten(body.model_dump(exclude_unset=True)),
        actor=principal.actor,
        secrets=services.secrets,
    )
    session.refresh(patient)
    return patient_out(patient)


@router.delete("/{patient_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(patient_id: uuid.UUID, principal: Writer, session: SessionDep) -> None:
    """Soft delete: hidden from search and reads, kept with its history."""
    registry.delete_patient(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )


@router.get("/{patient_id}/ssn", response_model=SsnOut)
def read_ssn(
    patient_id: uuid.UUID, principal: SsnReader, session: SessionDep, services: ServicesDep
) -> SsnOut:
    """The unmasked SSN, for roles allowed to see it; every disclosure is audited."""
    patient = registry.find_patient(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id
    )
    ssn = (
        open_ssn(
            patient.ssn_encrypted,
            tenant_id=patient.tenant_id,
            patient_id=patient.id,
            keyring=services.secrets.keyring,
        )
        if patient.ssn_encrypted
        else None
    )
    record(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        entry=AuditEntry(
            action="patient.ssn.read",
            resource_type="patient",
            resource_id=patient.id,
            patient_id=patient.id,
        ),
    )
    return SsnOut(ssn=ssn)


@router.post("/{patient_id}/merge", response_model=PatientOut)
def merge(
    patient_id: uuid.UUID, body: MergeRequest, principal: Merger, session: SessionDep
) -> PatientOut:
    """Merge `duplicate_id` into this patient, which keeps all history of both."""
    survivor = merge_patients(
        session=session,
        tenant_id=principal.tenant_id,
        survivor_id=patient_id,
        duplicate_id=body.duplicate_id,
        actor=principal.actor,
    )
    return patient_out(survivor)
