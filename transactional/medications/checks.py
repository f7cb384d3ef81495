"""The prescribing check: a pure function of the patient's active medications, active
allergies and the candidate drug. No database, no clock, no I/O, so prescribing, a later
decision-support service and the benchmark all call the same thing.

Findings are per pair: a candidate ingredient against one active medication's ingredient
(interaction, duplicate) or against one allergy. Only `critical` findings block signing.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from transactional.medications.knowledge import (
    Allergen,
    KnowledgeBase,
    Medication,
    knowledge_base,
)
from transactional.medications.types import FindingKind, Severity

DUPLICATE_RULE = "duplicate-ingredient"
SAME_INGREDIENT_RULE = "allergy-same-ingredient"
SAME_CLASS_RULE = "allergy-same-class"
ALLERGY_SOURCE = (
    "Allergy recorded on the patient's record; class membership from the knowledge base"
)


@dataclass(frozen=True, slots=True)
class ActiveMedication:
    """A drug the patient is taking, reduced to what the check needs."""

    code: str
    display: str
    ingredients: tuple[str, ...]
    prescription_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class AllergyFact:
    """An active allergy; `system`/`code` is the substance coding as recorded."""

    system: str
    code: str
    display: str | None = None
    severity: str | None = None
    allergy_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    severity: Severity
    rule_id: str
    drug_code: str
    drug_display: str
    rationale: str
    management: str
    source: str
    interacting_code: str | None = None
    interacting_display: str | None = None
    interacting_prescription_id: uuid.UUID | None = None
    allergy: AllergyFact | None = None

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.CRITICAL


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocks]


def check(
    *,
    candidate: Medication,
    active: Sequence[ActiveMedication],
    allergies: Sequence[AllergyFact],
    knowledge: KnowledgeBase | None = None,
) -> list[Finding]:
    """Every finding for prescribing `candidate`, most severe first."""
    kb = knowledge or knowledge_base()
    findings: list[Finding] = []
    for ingredient in candidate.ingredients:
        for medication in active:
            findings.extend(_against_medication(kb, ingredient, medication))
        for allergy in allergies:
            finding = _against_allergy(kb, ingredient, allergy)
            if finding is not None:
                findings.append(finding)
    return sorted(findings, key=lambda f: -f.severity.rank)


def _against_medication(
    kb: KnowledgeBase, ingredient: str, medication: ActiveMedication
) -> list[Finding]:
    name = kb.ingredient_name(ingredient)
    found: list[Finding] = []
    for other in medication.ingredients:
        if other == ingredient:
            found.append(
                Finding(
                    kind=FindingKind.DUPLICATE,
                    severity=Severity.MAJOR,
                    rule_id=DUPLICATE_RULE,
                    drug_code=ingredient,
                    drug_display=name,
                    rationale=(
                        f"The patient already takes {name} ({medication.display}); a second "
                        "prescription of the same ingredient duplicates therapy and risks an "
                        "overdose."
                    ),
                    management="Adjust or stop the existing prescription, or do not add this one.",
                    source="Active medication list",
                    interacting_code=medication.code,
                    interacting_display=medication.display,
                    interacting_prescription_id=medication.prescription_id,
                )
            )
            continue
        if other not in kb.medications:
            continue
        rules = kb.interactions_between(ingredient, other)
        if rules:
            rule = rules[0]
            found.append(
                Finding(
                    kind=FindingKind.INTERACTION,
                    severity=rule.severity,
                    rule_id=rule.id,
                    drug_code=ingredient,
                    drug_display=name,
                    rationale=rule.rationale,
                    management=rule.management,
                    source=rule.source,
                    interacting_code=other,
                    interacting_display=kb.ingredient_name(other),
                    interacting_prescription_id=medication.prescription_id,
                )
            )
    return found


def _against_allergy(kb: KnowledgeBase, ingredient: str, allergy: AllergyFact) -> Finding | None:
    allergen = kb.allergen(allergy.system, allergy.code)
    if allergen is None:
        return None
    lineage = kb.lineage(ingredient)
    name = kb.ingredient_name(ingredient)
    substance = allergy.display or allergy.code

    def finding(
        severity: Severity, rule_id: str, rationale: str, management: str, source: str
    ) -> Finding:
        return Finding(
            kind=FindingKind.ALLERGY,
            severity=severity,
            rule_id=rule_id,
            drug_code=ingredient,
            drug_display=name,
            rationale=rationale,
            management=management,
            source=source,
            allergy=allergy,
        )

    if ingredient in allergen.ingredients:
        return finding(
            Severity.CRITICAL,
            SAME_INGREDIENT_RULE,
            f"The patient is allergic to {substance}, and this drug contains {name}.",
            "Do not give; choose a drug from an unrelated class.",
            ALLERGY_SOURCE,
        )
    shared = _shared_allergy_class(kb, allergen, lineage)
    if shared is not None:
        class_name = kb.classes[shared].name
        return finding(
            Severity.CRITICAL,
            SAME_CLASS_RULE,
            f"The patient is allergic to {substance}; {name} belongs to the same class "
            f"({class_name}), and an allergy to one member is taken to extend to all.",
            "Do not give; choose a drug from an unrelated class, or refer for allergy testing.",
            ALLERGY_SOURCE,
        )
    allergen_classes = set(allergen.classes)
    for allergen_ingredient in allergen.ingredients:
        allergen_classes |= kb.lineage(allergen_ingredient)
    matches = [
        rule
        for rule in kb.cross_reactivity
        if rule.allergen_class in allergen_classes and rule.drug_class in lineage
    ]
    if not matches:
        return None
    rule = max(matches, key=lambda r: (kb.depth(r.drug_class), r.severity.rank))
    return finding(
        rule.severity,
        rule.id,
        f"The patient is allergic to {substance}; {name} is in a cross-reactive class "
        f"({kb.classes[rule.drug_class].name}). {rule.rationale}",
        rule.management,
        rule.source,
    )


def _shared_allergy_class(
    kb: KnowledgeBase, allergen: Allergen, lineage: frozenset[str]
) -> str | None:
    """A class the candidate is in that the allergy covers as a whole: a class named by the
    allergy itself, or an allergy-group class of an allergen ingredient."""
    for class_id in sorted(allergen.classes):
        if class_id in lineage:
            return class_id
    for allergen_ingredient in sorted(allergen.ingredients):
        for class_id in sorted(kb.lineage(allergen_ingredient) & lineage):
            if kb.classes[class_id].allergy_group:
                return class_id
    return None
