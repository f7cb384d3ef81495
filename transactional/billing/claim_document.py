"""The JSON a claim is submitted as: the parts of an 837P professional claim we produce.

It carries what a payer needs to adjudicate: billing and rendering NPIs, the subscriber's
member id, the patient's name, birth date and sex, the diagnoses (HI), and the service lines
with their diagnosis pointers. Disclosure to the payer is for payment; it is never logged.
"""

from typing import Any

from sqlalchemy.orm import Session

from transactional.billing.gateway import ClaimDocument
from transactional.billing.models import Claim, ClaimDiagnosis, ClaimLine
from transactional.billing.money import format_cents
from transactional.patients.models import Coverage, Patient, Payer


def claim_document(
    session: Session, claim: Claim, diagnoses: list[ClaimDiagnosis], lines: list[ClaimLine]
) -> ClaimDocument:
    payer = session.get_one(Payer, claim.payer_id)
    patient = session.get_one(Patient, claim.patient_id)
    coverage = session.get_one(Coverage, claim.coverage_id)
    original: dict[str, Any] | None = None
    if claim.original_claim_id is not None:
        prior = session.get_one(Claim, claim.original_claim_id)
        original = {
            "submission_id": str(prior.id),
            "payer_claim_number": prior.payer_claim_number,
        }
    return {
        "format": "837P-json",
        "submission_id": str(claim.id),
        "frequency_code": claim.frequency_code,
        "original_claim": original,
        "payer": {"id": str(payer.id), "name": payer.name, "payer_id": payer.external_id},
        "billing_provider": {"npi": claim.billing_npi},
        "rendering_provider": {"npi": claim.rendering_npi},
        "subscriber": {
            "member_id": claim.member_id,
            "group_number": coverage.group_number,
            "relationship": coverage.subscriber_relationship,
        },
        "patient": {
            "account_id": str(patient.id),
            "family_name": patient.family_name,
            "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
        },
        "place_of_service": claim.place_of_service,
        "total_charge": format_cents(claim.total_charge_cents),
        "diagnoses": [
            {"pointer": d.pointer, "system": d.code_system, "code": d.code} for d in diagnoses
        ],
        "lines": [
            {
                "line": line.line_number,
                "procedure": {"system": line.code_system, "code": line.code},
                "modifiers": line.modifiers.split(",") if line.modifiers else [],
                "units": line.units,
                "service_date": line.service_date.isoformat(),
                "charge": format_cents(line.amount_cents),
                "diagnosis_pointers": list(line.diagnosis_pointers),
                "rendering_npi": line.rendering_npi,
            }
            for line in lines
        ],
    }
