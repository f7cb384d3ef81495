"""Cards from what decision support knows: a rule's finding, an open alert, a prescribing
check finding. The summary fits a CDS Hooks card (under 140 characters); the detail is
Markdown with the rationale, the data used, the suggested actions and the source."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from transactional.alerts.models import ClinicalAlert
from transactional.cds.definitions import OVERRIDE_REASON_SYSTEM, Rule, rule_book
from transactional.cds.types import Action, Card, Coding, Finding, Suggestion
from transactional.medications.checks import Finding as CheckFinding
from transactional.medications.types import Severity
from transactional.risk.models import RiskScore

RULE_TOPIC_SYSTEM = "urn:emr:cds:rule"
SUMMARY_LIMIT = 139
_CHECK_INDICATORS = {Severity.CRITICAL: "critical", Severity.MAJOR: "warning"}
_GENERIC_REASONS = (
    Coding(OVERRIDE_REASON_SYSTEM, "not-clinically-relevant", "Not clinically relevant"),
    Coding(OVERRIDE_REASON_SYSTEM, "already-addressed", "Already addressed"),
)
_CHECK_REASONS = (
    Coding(OVERRIDE_REASON_SYSTEM, "benefit-outweighs-risk", "Benefit outweighs the risk"),
    Coding(OVERRIDE_REASON_SYSTEM, "will-monitor", "Will monitor the patient closely"),
    Coding(OVERRIDE_REASON_SYSTEM, "tolerated-before", "Patient has tolerated it before"),
)


def key(kind: str, subject_type: str, subject_id: uuid.UUID | str) -> str:
    return f"{kind}:{subject_type}:{subject_id}"


def summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _used(data: Mapping[str, Any]) -> list[str]:
    lines = []
    inputs = data.get("inputs")
    for used in inputs if isinstance(inputs, list) else []:
        if not isinstance(used, dict):
            continue
        shown = used.get("value") or used.get("answer_display") or used.get("answer")
        unit = f" {used['unit']}" if used.get("unit") else ""
        lines.append(
            f"- {used.get('name')}: {shown}{unit} ({used.get('system')} {used.get('code')}, "
            f"{used.get('effective_at')})"
        )
    return lines


def _detail(
    rationale: str,
    data: Mapping[str, Any],
    actions: Iterable[str],
    rule: Rule | None,
) -> str:
    parts = [rationale]
    used = _used(data)
    if used:
        parts.append("**Data used**\n" + "\n".join(used))
    missing = data.get("missing")
    if rule is not None and isinstance(missing, list) and missing:
        names = [rule.inputs[n].display if n in rule.inputs else str(n) for n in missing]
        parts.append("**Not recorded:** " + ", ".join(names))
    actions = list(actions)
    if actions:
        parts.append("**Suggested actions**\n" + "\n".join(f"- {a}" for a in actions))
    if rule is not None:
        parts.append(f"_Rule {rule.id} v{rule.version}. {rule.citation.text}_")
    return "\n\n".join(parts)


def _topic(rule: Rule) -> Coding:
    return Coding(RULE_TOPIC_SYSTEM, rule.id, rule.title)


def finding_card(
    finding: Finding, *, card_key: str, suggestions: Sequence[Suggestion] = ()
) -> Card:
    rule = rule_book().by_id(finding.rule_id)
    return Card(
        key=card_key,
        summary=summary(finding.summary),
        indicator=finding.severity,
        source_label=rule.citation.label,
        source_url=rule.citation.url,
        topic=_topic(rule),
        detail=_detail(finding.rationale, finding.data, finding.suggested_actions, rule),
        suggestions=tuple(suggestions),
        override_reasons=rule.override_reasons,
    )


def alert_card(alert: ClinicalAlert) -> Card:
    """An open alert as a card; a rule alert cites its rule, others (critical laboratory
    limits) their source."""
    rule = next((r for r in rule_book().rules if r.id == alert.rule_id), None)
    actions = [a["label"] for a in alert.suggested_actions if isinstance(a.get("label"), str)]
    return Card(
        key=key(alert.kind, alert.subject_type, alert.subject_id),
        summary=summary(alert.title),
        indicator=alert.severity,
        source_label=rule.citation.label if rule else alert.source.replace("_", " ").capitalize(),
        source_url=rule.citation.url if rule else None,
        topic=_topic(rule) if rule else None,
        detail=_detail(alert.rationale, alert.data, actions, rule),
        override_reasons=rule.override_reasons if rule else _GENERIC_REASONS,
        alert_id=alert.id,
    )


def remove_order(reference: str, label: str) -> Suggestion:
    return Suggestion(
        label=f"Remove the draft order for {label}"[:140],
        actions=(Action("delete", f"Remove the draft order for {label}", reference),),
    )


def check_card(finding: CheckFinding, *, reference: str) -> Card:
    """A prescribing check finding (interaction, allergy, duplicate) on a draft order."""
    other = finding.interacting_display or (finding.allergy.display if finding.allergy else None)
    what = {"interaction": "Interaction", "allergy": "Allergy", "duplicate": "Duplicate therapy"}
    title = f"{what.get(finding.kind.value, 'Finding')} ({finding.severity.value}): "
    title += f"{finding.drug_display} with {other}" if other else finding.drug_display
    indicator = _CHECK_INDICATORS.get(finding.severity, "info")
    counterpart = finding.interacting_code or (finding.allergy.code if finding.allergy else "")
    return Card(
        key=key(f"check_{finding.rule_id}", "draft", f"{reference}:{counterpart}"),
        summary=summary(title),
        indicator=indicator,
        source_label="Medication knowledge base",
        detail=f"{finding.rationale}\n\n**Management:** {finding.management}\n\n"
        f"_Source: {finding.source}_",
        suggestions=(remove_order(reference, finding.drug_display),) if indicator != "info" else (),
        override_reasons=_CHECK_REASONS,
    )


def unchecked_card(reference: str, reason: str) -> Card:
    """Say so when a draft could not be checked: silence would read as "no problem"."""
    return Card(
        key=key("unchecked", "draft", reference),
        summary=summary(f"Medication safety checks did not run for {reference}: {reason}"),
        indicator="warning",
        source_label="Medication knowledge base",
        detail=(
            f"{reason}. Interactions, allergy conflicts and pharmacogenomic rules were not "
            "checked for this order; check them another way before signing."
        ),
    )


RISK_INDICATORS = {"high": "warning", "medium": "info"}


def risk_card(score: RiskScore, *, title: str) -> Card | None:
    """A model's newest score of a patient as a card: a high tier warns, a medium tier
    informs, a low tier shows nothing. The detail names the top factors, the inputs the record
    lacked and the model version, so the clinician can see why."""
    indicator = RISK_INDICATORS.get(score.tier)
    if indicator is None:
        return None
    percent = f"{float(score.score) * 100:.1f}%"
    parts = [
        f"{title}: {percent} ({score.tier} risk tier), computed "
        f"{score.computed_at:%Y-%m-%d %H:%M} UTC for {score.index_date.isoformat()}."
    ]
    factors = [f for f in score.factors if isinstance(f.get("name"), str)]
    if factors:
        parts.append(
            "**Top contributing factors**\n"
            + "\n".join(f"- {f['name']}: {f.get('value')}" for f in factors)
        )
    if score.missing_inputs:
        parts.append(
            "**Not recorded (scored as the model card says):** "
            + ", ".join(str(name) for name in score.missing_inputs)
        )
    parts.append(f"_Model {score.model} version {score.model_version}._")
    return Card(
        key=key(f"risk_{score.model}", "patient", score.patient_id),
        summary=summary(f"{score.tier.capitalize()} risk: {title} {percent}"),
        indicator=indicator,
        source_label=f"Risk model {score.model} v{score.model_version}",
        detail="\n\n".join(parts),
    )
