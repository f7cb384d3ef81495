import time
import uuid

import pytest

from transactional.medications.checks import ActiveMedication, AllergyFact, Finding, check
from transactional.medications.knowledge import Medication, knowledge_base
from transactional.medications.types import RXNORM, SNOMED, FindingKind, Severity


def drug(code: str) -> Medication:
    medication = knowledge_base().medication(code)
    assert medication is not None, code
    return medication


def taking(*codes: str) -> list[ActiveMedication]:
    return [
        ActiveMedication(
            code=code,
            display=drug(code).display,
            ingredients=drug(code).ingredients,
            prescription_id=uuid.uuid4(),
        )
        for code in codes
    ]


def allergic(system: str, code: str) -> list[AllergyFact]:
    return [AllergyFact(system=system, code=code, display=code, allergy_id=uuid.uuid4())]


def findings(
    candidate: str, active: tuple[str, ...] = (), allergies: list[AllergyFact] | None = None
) -> list[Finding]:
    return check(candidate=drug(candidate), active=taking(*active), allergies=allergies or [])


# One example pair for each of the 15 ONC high-priority interactions (Phansalkar 2012).
ONC_PAIRS = [
    ("725", "8123", "onc-amphetamine-maoi"),  # amphetamine / phenelzine
    ("343047", "7646", "onc-atazanavir-ppi"),  # atazanavir / omeprazole
    ("73689", "1256", "onc-febuxostat-thiopurine"),  # febuxostat / azathioprine
    ("36437", "10734", "onc-ssri-maoi"),  # sertraline / tranylcypromine
    ("51499", "6135", "onc-irinotecan-cyp3a4"),  # irinotecan / ketoconazole
    ("6754", "9639", "onc-opioid-maoi"),  # meperidine / selegiline
    ("704", "6011", "onc-tca-maoi"),  # amitriptyline / isocarboxazid
    ("8331", "18631", "onc-high-risk-qt"),  # pimozide / azithromycin
    ("596205", "42355", "onc-ramelteon-fluvoxamine"),  # ramelteon / fluvoxamine
    ("9384", "85762", "onc-inducer-protease-inhibitor"),  # rifampin / ritonavir
    ("36567", "21212", "onc-statin-cyp3a4"),  # simvastatin / clarithromycin
    ("4025", "28031", "onc-ergot-cyp3a4"),  # ergotamine / itraconazole
    ("57258", "2551", "onc-tizanidine-cyp1a2"),  # tizanidine / ciprofloxacin
    ("10734", "8702", "onc-tranylcypromine-procarbazine"),  # tranylcypromine / procarbazine
    ("37418", "8123", "onc-triptan-maoi"),  # sumatriptan / phenelzine
]


@pytest.mark.parametrize(("candidate", "active", "rule"), ONC_PAIRS)
def test_each_onc_high_priority_pair_is_critical_whichever_comes_first(
    candidate: str, active: str, rule: str
) -> None:
    for first, second in ((candidate, active), (active, candidate)):
        found = findings(first, (second,))
        assert found, (first, second)
        assert found[0].severity is Severity.CRITICAL and found[0].blocks
        assert found[0].kind is FindingKind.INTERACTION
        assert rule in {f.rule_id for f in found}
        assert found[0].interacting_code == second


def test_a_clinical_drug_is_checked_through_each_of_its_ingredients() -> None:
    [finding] = findings("1049625", ("6470",))

    assert (finding.rule_id, finding.drug_code) == ("ddi-opioid-benzodiazepine", "7804")
    assert finding.interacting_code == "6470"


@pytest.mark.parametrize(
    ("candidate", "active", "rule", "severity"),
    [
        ("5640", "11289", "ddi-warfarin-nsaid", Severity.MAJOR),
        ("4450", "11289", "ddi-warfarin-fluconazole", Severity.MAJOR),
        ("6922", "11289", "ddi-warfarin-metronidazole", Severity.MAJOR),
        ("703", "11289", "ddi-warfarin-amiodarone", Severity.MAJOR),
        ("4917", "136411", "ddi-pde5-nitrate", Severity.CRITICAL),
        ("10829", "6851", "ddi-methotrexate-trimethoprim", Severity.MAJOR),
        ("9997", "29046", "ddi-raas-potassium-sparing", Severity.MAJOR),
        ("8591", "52175", "ddi-raas-potassium", Severity.MAJOR),
        ("7646", "32968", "ddi-clopidogrel-ppi", Severity.MAJOR),
        ("5640", "42351", "ddi-lithium-nsaid", Severity.MAJOR),
        ("5487", "42351", "ddi-lithium-thiazide", Severity.MAJOR),
        ("6470", "7804", "ddi-opioid-benzodiazepine", Severity.MAJOR),
        ("1364430", "11289", "ddi-anticoagulant-duplicate", Severity.MAJOR),
    ],
)
def test_other_established_interactions(
    candidate: str, active: str, rule: str, severity: Severity
) -> None:
    [finding] = findings(candidate, (active,))

    assert (finding.rule_id, finding.severity) == (rule, severity)
    assert finding.rationale and finding.management and finding.source


def test_pantoprazole_with_clopidogrel_is_not_flagged() -> None:
    assert findings("40790", ("32968",)) == []


def test_the_same_ingredient_twice_is_duplicate_therapy() -> None:
    [finding] = findings("314076", ("29046",))

    assert finding.kind is FindingKind.DUPLICATE and finding.severity is Severity.MAJOR
    assert not finding.blocks and finding.interacting_code == "29046"


@pytest.mark.parametrize(
    ("allergy", "candidate", "rule", "severity"),
    [
        ((RXNORM, "7984"), "7984", "allergy-same-ingredient", Severity.CRITICAL),
        ((RXNORM, "7984"), "723", "allergy-same-class", Severity.CRITICAL),
        ((RXNORM, "7984"), "562251", "allergy-same-class", Severity.CRITICAL),
        ((RXNORM, "7984"), "2231", "xr-penicillin-cephalosporin", Severity.MAJOR),
        ((RXNORM, "7984"), "29561", "xr-penicillin-carbapenem", Severity.MAJOR),
        ((SNOMED, "764146007"), "733", "allergy-same-class", Severity.CRITICAL),
        ((SNOMED, "764146007"), "2193", "xr-penicillin-cephalosporin", Severity.MAJOR),
        ((SNOMED, "372687004"), "2231", "xr-penicillin-cephalosporin", Severity.MAJOR),
        ((SNOMED, "764147003"), "2231", "allergy-same-class", Severity.CRITICAL),
        ((RXNORM, "2231"), "723", "xr-cephalosporin-penicillin", Severity.MAJOR),
        ((SNOMED, "387406002"), "10180", "allergy-same-class", Severity.CRITICAL),
        ((RXNORM, "1191"), "5640", "xr-nsaid-nsaid", Severity.MAJOR),
        ((SNOMED, "387458008"), "7258", "xr-nsaid-nsaid", Severity.MAJOR),
        ((RXNORM, "5640"), "140587", "xr-nsaid-cox2", Severity.MODERATE),
        ((SNOMED, "372665008"), "5640", "allergy-same-class", Severity.CRITICAL),
        ((SNOMED, "387494007"), "7052", "xr-phenanthrene-opioid", Severity.MAJOR),
        ((RXNORM, "2551"), "82122", "xr-fluoroquinolone", Severity.MAJOR),
    ],
)
def test_allergy_conflicts_and_cross_reactivity(
    allergy: tuple[str, str], candidate: str, rule: str, severity: Severity
) -> None:
    facts = allergic(*allergy)
    found = [f for f in findings(candidate, allergies=facts) if f.kind is FindingKind.ALLERGY]

    assert found, (allergy, candidate)
    assert (found[0].rule_id, found[0].severity) == (rule, severity)
    assert found[0].allergy == facts[0]


@pytest.mark.parametrize(
    ("allergy", "candidate"),
    [
        ((SNOMED, "387406002"), "4603"),  # sulfa antibiotic allergy vs furosemide
        ((SNOMED, "387406002"), "5487"),  # ... vs hydrochlorothiazide
        ((SNOMED, "762952008"), "161"),  # peanut: not a drug allergy
        ((RXNORM, "7984"), "18631"),  # penicillin vs azithromycin
        ((RXNORM, "7984"), "1272"),  # penicillin vs aztreonam
        ((RXNORM, "5640"), "161"),  # ibuprofen vs acetaminophen
    ],
)
def test_unrelated_allergies_raise_nothing(allergy: tuple[str, str], candidate: str) -> None:
    assert findings(candidate, allergies=allergic(*allergy)) == []


def test_findings_are_sorted_most_severe_first() -> None:
    found = findings("36437", ("8123", "11289", "36437"), allergic(RXNORM, "5640"))

    assert [f.severity for f in found] == sorted((f.severity for f in found), key=lambda s: -s.rank)
    assert found[0].rule_id == "onc-ssri-maoi"


def test_a_check_against_twenty_medications_is_fast() -> None:
    active = taking(
        "29046",
        "6809",
        "83367",
        "11289",
        "7646",
        "17767",
        "4603",
        "10582",
        "36437",
        "1191",
        "6918",
        "41126",
        "435",
        "9997",
        "32968",
        "5487",
        "42347",
        "4821",
        "161",
        "8640",
    )
    allergies = allergic(RXNORM, "7984") + allergic(SNOMED, "387406002")
    candidate = drug("1049625")
    check(candidate=candidate, active=active, allergies=allergies)

    began = time.perf_counter()
    for _ in range(200):
        check(candidate=candidate, active=active, allergies=allergies)
    per_check = (time.perf_counter() - began) / 200

    assert per_check < 0.005
