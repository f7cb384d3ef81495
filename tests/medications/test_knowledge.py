import csv
import hashlib
import io
import json
from typing import Any

import pytest

from tests.factories.synthea import SAMPLE
from transactional.medications.knowledge import data_dir, knowledge_base
from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem

# Synthea drugs left out: their ingredients' RxCUIs (terfenadine, astemizole, etonogestrel)
# could not be confirmed, and a drug is only shipped with all of its ingredients.
UNMAPPED_SAMPLE_DRUGS = {"141918", "197378", "1367439"}


def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        data_dir().joinpath("manifest.json").read_text(encoding="utf-8")
    )
    return manifest


@pytest.mark.parametrize("entry", _manifest()["files"], ids=lambda entry: entry["file"])
def test_data_files_match_their_manifest_hash_and_name_source_and_licence(
    entry: dict[str, str],
) -> None:
    content = data_dir().joinpath(entry["file"]).read_bytes()

    actual = hashlib.sha256(content).hexdigest()
    assert actual == entry["sha256"], f"{entry['file']} changed: set its sha256 to {actual}"
    assert entry["source"].strip() and entry["license"].strip()


def test_every_csv_is_in_the_manifest_and_documented() -> None:
    listed = sorted(entry["file"] for entry in _manifest()["files"])
    shipped = sorted(item.name for item in data_dir().iterdir() if item.name.endswith(".csv"))
    readme = data_dir().joinpath("README.md").read_text(encoding="utf-8")

    assert listed == shipped
    assert all(f"`{name}`" in readme for name in shipped)


def test_every_rxnorm_code_is_a_catalog_code_with_the_same_name() -> None:
    kb = knowledge_base()

    for medication in kb.medications.values():
        concept = lookup(CodeSystem.RXNORM, medication.code)
        assert concept is not None, medication.code
        assert concept.display == medication.display, medication.code


def test_every_mapped_snomed_substance_is_a_catalog_code_with_the_same_name() -> None:
    text = data_dir().joinpath("substances.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))

    assert rows
    for row in rows:
        concept = lookup(CodeSystem.SNOMEDCT, row["snomed_code"])
        assert concept is not None and concept.display == row["display"], row["snomed_code"]


def test_the_synthea_sample_drugs_resolve_to_their_ingredients() -> None:
    with (SAMPLE / "medications.csv").open(encoding="utf-8", newline="") as handle:
        codes = {row["CODE"] for row in csv.DictReader(handle)}
    kb = knowledge_base()

    unmapped = {code for code in codes if kb.medication(code) is None}

    assert unmapped == UNMAPPED_SAMPLE_DRUGS
    percocet = kb.medication("1049625")
    assert percocet is not None and percocet.ingredients == ("161", "7804")


def test_beta_lactams_form_a_hierarchy_of_four_subclasses() -> None:
    kb = knowledge_base()
    children = {c.id for c in kb.classes.values() if c.parent == "beta_lactam"}

    assert children == {"penicillin", "cephalosporin", "carbapenem", "monobactam"}
    members = kb.members("beta_lactam")
    for code in ("723", "7984", "2231", "2193", "29561", "1272"):
        assert code in members
    assert "18631" not in members
    assert kb.lineage("2231") == frozenset({"cephalosporin", "beta_lactam"})


@pytest.mark.parametrize(
    "class_id",
    [
        "nsaid",
        "ssri",
        "maoi",
        "statin",
        "ppi",
        "protease_inhibitor",
        "azole_antifungal",
        "macrolide",
        "strong_cyp3a4_inhibitor",
        "strong_cyp1a2_inhibitor",
        "qt_prolonging",
        "nitrate",
        "pde5_inhibitor",
        "triptan",
        "ergot_alkaloid",
        "cns_stimulant",
        "tca",
        "serotonergic_opioid",
    ],
)
def test_each_named_class_has_members(class_id: str) -> None:
    assert len(knowledge_base().members(class_id)) >= 1


def test_interactions_are_symmetric() -> None:
    kb = knowledge_base()

    assert kb.interactions_between("11289", "5640") == kb.interactions_between("5640", "11289")
    assert kb.interactions_between("11289", "5640")[0].id == "ddi-warfarin-nsaid"
    assert kb.interactions_between("161", "29046") == ()


def test_every_onc_rule_cites_the_onc_list() -> None:
    onc = [r for r in knowledge_base().interactions if r.id.startswith("onc-")]

    assert len(onc) >= 15
    for rule in onc:
        assert "Phansalkar" in rule.source and rule.severity == "critical"
        assert rule.rationale and rule.management
