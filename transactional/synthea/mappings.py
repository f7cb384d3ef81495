"""How Synthea's vocabulary maps onto ours: encounter classes, specialties, payers, races.

Synthea writes plain words where this EMR stores codes or a closed list; each mapping is a
decision, kept here in one place so it can be read and changed as one.
"""

from types import MappingProxyType

# Synthea's encounter classes onto ambulatory/emergency/inpatient. A home or virtual visit is
# a visit, not a stay; a skilled-nursing or hospice stay is admitted and discharged.
ENCOUNTER_CLASSES = MappingProxyType(
    {
        "ambulatory": "ambulatory",
        "wellness": "ambulatory",
        "outpatient": "ambulatory",
        "urgentcare": "ambulatory",
        "home": "ambulatory",
        "virtual": "ambulatory",
        "emergency": "emergency",
        "inpatient": "inpatient",
        "snf": "inpatient",
        "hospice": "inpatient",
    }
)

# Synthea's provider specialities onto NUCC Health Care Provider Taxonomy codes.
SPECIALTIES = MappingProxyType(
    {
        "GENERAL PRACTICE": "208D00000X",
        "FAMILY PRACTICE": "207Q00000X",
        "INTERNAL MEDICINE": "207R00000X",
        "NURSE PRACTITIONER": "363L00000X",
        "PHYSICIAN ASSISTANT": "363A00000X",
        "PHYSICAL THERAPY": "225100000X",
        "AUDIOLOGIST": "231H00000X",
        "EMERGENCY MEDICINE": "207P00000X",
        "CLINICAL PSYCHOLOGIST": "103TC0700X",
        "CLINICAL SOCIAL WORKER": "1041C0700X",
        "PSYCHIATRY": "2084P0800X",
        "OPTOMETRY": "152W00000X",
        "CHIROPRACTIC": "111N00000X",
        "CARDIOVASCULAR DISEASE (CARDIOLOGY)": "207RC0000X",
        "OBSTETRICS/GYNECOLOGY": "207V00000X",
        "PEDIATRIC MEDICINE": "208000000X",
        "DERMATOLOGY": "207N00000X",
        "GENERAL SURGERY": "208600000X",
        "ORTHOPEDIC SURGERY": "207X00000X",
        "NEUROLOGY": "2084N0400X",
        "ANESTHESIOLOGY": "207L00000X",
    }
)

# Payers by the names Synthea gives them; every other payer is commercial.
PAYER_TYPES = MappingProxyType(
    {
        "medicare": "medicare",
        "medicaid": "medicaid",
        "dual eligible": "other",
        "no_insurance": "self_pay",
    }
)

SEXES = MappingProxyType({"M": "male", "F": "female"})

# OMB race and ethnicity categories, as US Core and most registries spell them.
RACES = MappingProxyType(
    {
        "white": "White",
        "black": "Black or African American",
        "asian": "Asian",
        "native": "American Indian or Alaska Native",
        "hawaiian": "Native Hawaiian or Other Pacific Islander",
        "other": "Other",
    }
)
ETHNICITIES = MappingProxyType(
    {"hispanic": "Hispanic or Latino", "nonhispanic": "Not Hispanic or Latino"}
)

# OWNERSHIP of a payer transition: who holds the plan, so how the patient relates to them.
SUBSCRIBERS = MappingProxyType({"self": "self", "spouse": "spouse", "guardian": "child"})

# The principal IANA time zone of each US state and territory (Synthea's organizations.STATE).
_ZONES = {
    "America/New_York": "CT DE DC FL GA KY ME MD MA NH NJ NY NC OH PA RI SC VT VA WV",
    "America/Chicago": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    "America/Denver": "CO MT NM UT WY",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Detroit": "MI",
    "America/Indiana/Indianapolis": "IN",
    "America/Boise": "ID",
    "America/Phoenix": "AZ",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
    "America/Puerto_Rico": "PR",
    "Pacific/Guam": "GU",
    "America/St_Thomas": "VI",
}
STATE_ZONES = MappingProxyType(
    {state: zone for zone, states in _ZONES.items() for state in states.split()}
)

# Synthea's allergy categories onto ours.
ALLERGY_CATEGORIES = MappingProxyType(
    {
        "medication": "medication",
        "drug": "medication",
        "food": "food",
        "environment": "environment",
        "biologic": "biologic",
    }
)
SEVERITY_ORDER = ("mild", "moderate", "severe")

# Synthea's PAYMENT methods onto ours; COPAY is the patient paying at the visit.
PAYMENT_METHODS = MappingProxyType(
    {"CASH": "cash", "CHECK": "check", "CC": "card", "ECHECK": "eft", "COPAY": "other"}
)

# FHIR observation categories Synthea writes.
OBSERVATION_CATEGORIES = frozenset(
    {
        "vital-signs",
        "laboratory",
        "survey",
        "exam",
        "procedure",
        "social-history",
        "imaging",
        "therapy",
        "activity",
    }
)

# Identifier systems of Synthea's own ids and of the ids it generates for patients.
SYNTHEA_ID_SYSTEM = "https://github.com/synthetichealth/synthea"
DRIVERS_LICENSE_SYSTEM = "urn:oid:2.16.840.1.113883.4.3.25"
PASSPORT_SYSTEM = "http://hl7.org/fhir/sid/passport-USA"
