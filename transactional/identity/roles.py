"""Roles and the fine-grained permissions each one grants.

Routes ask for permissions, never for roles, so changing what a role may do is an edit
to this table alone.
"""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PHYSICIAN = "physician"
    NURSE = "nurse"
    RECEPTIONIST = "receptionist"
    LAB_TECH = "lab_tech"
    PHARMACIST = "pharmacist"
    BILLING = "billing"
    MANAGER = "manager"
    PATIENT = "patient"


class Permission(StrEnum):
    PROFILE_READ = "profile.read"
    TENANT_READ = "tenant.read"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    PATIENT_MERGE = "patient.merge"
    PATIENT_SSN_READ = "patient.ssn.read"
    PROVIDER_MANAGE = "provider.manage"
    SCHEDULE_READ = "schedule.read"
    SCHEDULE_WRITE = "schedule.write"
    CHART_READ = "chart.read"
    CHART_WRITE = "chart.write"
    NOTE_SIGN = "note.sign"
    ORDER_READ = "order.read"
    ORDER_WRITE = "order.write"
    RESULT_WRITE = "result.write"
    RESULT_ACKNOWLEDGE = "result.acknowledge"
    SPECIMEN_COLLECT = "specimen.collect"
    PRESCRIPTION_READ = "prescription.read"
    PRESCRIPTION_WRITE = "prescription.write"
    PRESCRIPTION_SIGN = "prescription.sign"
    PRESCRIPTION_OVERRIDE = "prescription.override"
    PHARMACY_DISPENSE = "pharmacy.dispense"
    PHARMACY_STOCK = "pharmacy.stock"
    BILLING_READ = "billing.read"
    BILLING_WRITE = "billing.write"
    CLAIM_SUBMIT = "claim.submit"
    PAYMENT_POST = "payment.post"
    ANALYTICS_READ = "analytics.read"
    ANALYTICS_PHI_READ = "analytics.phi.read"
    PORTAL_SELF = "portal.self"


P = Permission
_EVERY_STAFF_MEMBER = {P.PROFILE_READ, P.TENANT_READ}
_CLINICAL_READ = {
    P.PATIENT_READ,
    P.SCHEDULE_READ,
    P.CHART_READ,
    P.ORDER_READ,
    P.PRESCRIPTION_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        _EVERY_STAFF_MEMBER
        | {P.USER_READ, P.USER_MANAGE, P.AUDIT_READ, P.PROVIDER_MANAGE, P.ANALYTICS_READ}
        # Registration and scheduling (small clinics' admins run the front desk), no charts.
        | {P.PATIENT_READ, P.PATIENT_WRITE, P.PATIENT_MERGE, P.SCHEDULE_READ, P.SCHEDULE_WRITE}
    ),
    Role.PHYSICIAN: frozenset(
        _EVERY_STAFF_MEMBER
        | _CLINICAL_READ
        | {P.PATIENT_WRITE, P.SCHEDULE_WRITE, P.CHART_WRITE, P.NOTE_SIGN, P.ORDER_WRITE}
        | {P.RESULT_ACKNOWLEDGE, P.PRESCRIPTION_WRITE, P.PRESCRIPTION_SIGN}
        | {P.PRESCRIPTION_OVERRIDE, P.ANALYTICS_READ, P.ANALYTICS_PHI_READ}
    ),
    Role.NURSE: frozenset(
        _EVERY_STAFF_MEMBER
        | _CLINICAL_READ
        | {P.PATIENT_WRITE, P.SCHEDULE_WRITE, P.CHART_WRITE, P.ORDER_WRITE}
        | {P.RESULT_ACKNOWLEDGE, P.PRESCRIPTION_WRITE}
        | {P.SPECIMEN_COLLECT}
    ),
    Role.RECEPTIONIST: frozenset(
        _EVERY_STAFF_MEMBER
        | {P.PATIENT_READ, P.PATIENT_WRITE, P.SCHEDULE_READ}
        | {P.SCHEDULE_WRITE, P.BILLING_READ}
    ),
    Role.LAB_TECH: frozenset(
        _EVERY_STAFF_MEMBER | {P.PATIENT_READ, P.ORDER_READ, P.RESULT_WRITE, P.SPECIMEN_COLLECT}
    ),
    Role.PHARMACIST: frozenset(
        _EVERY_STAFF_MEMBER
        | {P.PATIENT_READ, P.CHART_READ, P.ORDER_READ, P.PRESCRIPTION_READ}
        | {P.PHARMACY_DISPENSE, P.PHARMACY_STOCK}
    ),
    Role.BILLING: frozenset(
        _EVERY_STAFF_MEMBER
        | {P.PATIENT_READ, P.PATIENT_SSN_READ, P.SCHEDULE_READ, P.BILLING_READ}
        | {P.BILLING_WRITE, P.CLAIM_SUBMIT, P.PAYMENT_POST}
    ),
    Role.MANAGER: frozenset(
        _EVERY_STAFF_MEMBER
        | {P.USER_READ, P.PROVIDER_MANAGE, P.SCHEDULE_READ, P.BILLING_READ, P.ANALYTICS_READ}
    ),
    Role.PATIENT: frozenset({P.PROFILE_READ, P.PORTAL_SELF}),
}


def permissions_for(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]
