"""The medication knowledge base: RxNorm ingredients and clinical drugs, drug classes,
interactions, allergy cross-reactivity and the SNOMED CT substances allergies may name.

It is shipped as versioned CSV files in `data/` (provenance and licences in
`data/manifest.json` and `data/README.md`), read once per process and kept in memory with
every lookup a prescribing check needs precomputed, so a check never touches the database
or a file.
"""

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from transactional.medications.types import RXNORM, SNOMED, Severity

INGREDIENT_TTY = "IN"


@dataclass(frozen=True, slots=True)
class DrugClass:
    id: str
    name: str
    parent: str | None
    allergy_group: bool
    """An allergy to one member extends to every member (penicillins, cephalosporins...)."""


@dataclass(frozen=True, slots=True)
class Medication:
    """What an RxNorm code means for checking: an ingredient (IN) or a drug made of some."""

    code: str
    display: str
    tty: str
    ingredients: tuple[str, ...]

    @property
    def is_ingredient(self) -> bool:
        return self.tty == INGREDIENT_TTY


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    left: str
    right: str
    severity: Severity
    rationale: str
    management: str
    source: str


@dataclass(frozen=True, slots=True)
class CrossReactivity:
    id: str
    allergen_class: str
    drug_class: str
    severity: Severity
    rationale: str
    management: str
    source: str


@dataclass(frozen=True, slots=True)
class Allergen:
    """What an allergy's substance covers: ingredients, drug classes, or both."""

    ingredients: frozenset[str]
    classes: frozenset[str]


@dataclass(frozen=True)
class Provenance:
    version: str
    sources: tuple[str, ...]


def data_dir() -> Traversable:
    return files("transactional.medications").joinpath("data")


def _rows(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = data_dir().joinpath(name).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != columns:
        raise ValueError(f"{name} must have the columns {','.join(columns)}")
    return list(reader)


class KnowledgeBase:
    """Immutable after construction; safe to share between threads."""

    def __init__(
        self,
        *,
        provenance: Provenance,
        classes: Iterable[DrugClass],
        ingredients: Iterable[tuple[str, str, tuple[str, ...]]],
        drugs: Iterable[Medication],
        interactions: Iterable[Interaction],
        cross_reactivity: Iterable[CrossReactivity],
        substances: Mapping[str, Allergen],
    ) -> None:
        self.provenance = provenance
        self.classes: Mapping[str, DrugClass] = MappingProxyType({c.id: c for c in classes})
        self._check_hierarchy()
        medications: dict[str, Medication] = {}
        lineage: dict[str, frozenset[str]] = {}
        for code, name, direct in ingredients:
            self._require_classes(direct, f"ingredient {code}")
            medications[code] = Medication(code, name, INGREDIENT_TTY, (code,))
            lineage[code] = frozenset(a for c in direct for a in self.ancestry(c))
        for drug in drugs:
            missing = [i for i in drug.ingredients if i not in lineage]
            if missing or not drug.ingredients or drug.code in medications:
                raise ValueError(f"clinical drug {drug.code} has unknown or no ingredients")
            medications[drug.code] = drug
        self.medications: Mapping[str, Medication] = MappingProxyType(medications)
        self._lineage = lineage
        self.interactions = tuple(interactions)
        self.cross_reactivity = tuple(cross_reactivity)
        self.substances = substances
        self._partners: dict[str, dict[str, list[Interaction]]] = {}
        for rule in self.interactions:
            for end in (rule.left, rule.right):
                if end not in lineage and end not in self.classes:
                    raise ValueError(f"interaction {rule.id} names unknown {end!r}")
            self._partners.setdefault(rule.left, {}).setdefault(rule.right, []).append(rule)
            if rule.left != rule.right:
                self._partners.setdefault(rule.right, {}).setdefault(rule.left, []).append(rule)
        for cross in self.cross_reactivity:
            self._require_classes((cross.allergen_class, cross.drug_class), cross.id)
        for code, allergen in substances.items():
            self._require_classes(tuple(allergen.classes), f"substance {code}")
            if not allergen.ingredients <= lineage.keys():
                raise ValueError(f"substance {code} names an unknown ingredient")
        self._pair_cache: dict[tuple[str, str], tuple[Interaction, ...]] = {}

    def _require_classes(self, ids: Iterable[str], owner: str) -> None:
        unknown = [c for c in ids if c not in self.classes]
        if unknown:
            raise ValueError(f"{owner} names unknown classes {unknown}")

    def _check_hierarchy(self) -> None:
        for drug_class in self.classes.values():
            seen = {drug_class.id}
            parent = drug_class.parent
            while parent is not None:
                if parent not in self.classes:
                    raise ValueError(f"class {drug_class.id} has unknown parent {parent}")
                if parent in seen:
                    raise ValueError(f"class {drug_class.id} is its own ancestor")
                seen.add(parent)
                parent = self.classes[parent].parent

    def ancestry(self, class_id: str) -> list[str]:
        """The class itself, then its parent, up to the root."""
        chain = [class_id]
        parent = self.classes[class_id].parent
        while parent is not None:
            chain.append(parent)
            parent = self.classes[parent].parent
        return chain

    def depth(self, class_id: str) -> int:
        return len(self.ancestry(class_id))

    def medication(self, code: str) -> Medication | None:
        return self.medications.get(code)

    def ingredient_name(self, code: str) -> str:
        return self.medications[code].display

    def lineage(self, ingredient: str) -> frozenset[str]:
        """Every class an ingredient belongs to, directly or through a parent class."""
        return self._lineage[ingredient]

    def members(self, class_id: str) -> list[str]:
        """Ingredients in a class or any of its subclasses, by code."""
        return sorted((c for c, classes in self._lineage.items() if class_id in classes), key=int)

    def interactions_between(self, first: str, second: str) -> tuple[Interaction, ...]:
        """Rules that apply to two different ingredients, most severe first."""
        key = (first, second) if first <= second else (second, first)
        found = self._pair_cache.get(key)
        if found is None:
            left = {first, *self._lineage[first]}
            right = {second, *self._lineage[second]}
            rules: dict[str, Interaction] = {}
            for end in left:
                partners = self._partners.get(end)
                if partners is None:
                    continue
                for other in right:
                    for rule in partners.get(other, ()):
                        rules.setdefault(rule.id, rule)
            found = tuple(sorted(rules.values(), key=lambda r: -r.severity.rank))
            self._pair_cache[key] = found
        return found

    def allergen(self, system: str, code: str) -> Allergen | None:
        """What an allergy substance covers; None if the knowledge base cannot map it."""
        if system == RXNORM:
            medication = self.medications.get(code)
            if medication is None:
                return None
            return Allergen(frozenset(medication.ingredients), frozenset())
        if system == SNOMED:
            return self.substances.get(code)
        return None


def _severity(value: str, owner: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise ValueError(f"{owner}: unknown severity {value!r}") from None


def _flag(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"allergy_group must be true or false, not {value!r}")
    return value == "true"


@cache
def knowledge_base() -> KnowledgeBase:
    """Loaded on first use and kept for the life of the process."""
    manifest = json.loads(data_dir().joinpath("manifest.json").read_text(encoding="utf-8"))
    classes = [
        DrugClass(r["id"], r["name"], r["parent"] or None, _flag(r["allergy_group"]))
        for r in _rows("classes.csv", ("id", "name", "parent", "allergy_group"))
    ]
    ingredients = [
        (r["code"], r["name"], tuple(r["classes"].split()))
        for r in _rows("ingredients.csv", ("code", "name", "classes"))
    ]
    drugs = [
        Medication(r["code"], r["name"], r["tty"], tuple(r["ingredients"].split()))
        for r in _rows("clinical_drugs.csv", ("code", "name", "tty", "ingredients"))
    ]
    text = ("id", "severity", "rationale", "management", "source")
    interactions = [
        Interaction(
            r["id"],
            r["left"],
            r["right"],
            _severity(r["severity"], r["id"]),
            r["rationale"],
            r["management"],
            r["source"],
        )
        for r in _rows("interactions.csv", ("id", "left", "right", *text[1:]))
    ]
    cross = [
        CrossReactivity(
            r["id"],
            r["allergen_class"],
            r["drug_class"],
            _severity(r["severity"], r["id"]),
            r["rationale"],
            r["management"],
            r["source"],
        )
        for r in _rows("cross_reactivity.csv", ("id", "allergen_class", "drug_class", *text[1:]))
    ]
    substances = {
        r["snomed_code"]: Allergen(
            frozenset([r["ingredient"]] if r["ingredient"] else []),
            frozenset([r["class"]] if r["class"] else []),
        )
        for r in _rows("substances.csv", ("snomed_code", "display", "ingredient", "class"))
    }
    return KnowledgeBase(
        provenance=Provenance(
            str(manifest["version"]), tuple(str(f["source"]) for f in manifest["files"])
        ),
        classes=classes,
        ingredients=ingredients,
        drugs=drugs,
        interactions=interactions,
        cross_reactivity=cross,
        substances=MappingProxyType(substances),
    )
