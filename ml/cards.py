"""Model cards (Mitchell et al. 2019): what a model version is for, what it was trained on,
how well it did overall and per group, and where it should not be trusted. One dictionary,
written as card.json for programs and card.md for people."""

from importlib.metadata import version as package_version
from typing import Any

from ml.evaluation import Metrics
from ml.training import TrainedModel

CARD_FORMAT = 1


def _metrics(metrics: Metrics) -> dict[str, Any]:
    return metrics.as_dict()


def model_card(trained: TrainedModel, *, version: str) -> dict[str, Any]:
    spec = trained.spec
    return {
        "format": CARD_FORMAT,
        "model": spec.name,
        "version": version,
        "title": spec.title,
        "spec_version": spec.spec_version,
        "trained_at": trained.trained_at.isoformat(),
        "training_seconds": round(trained.seconds, 3),
        "intended_use": spec.intended_use,
        "limits": list(spec.limits),
        "unit": spec.unit,
        "outcome": spec.outcome,
        "data_window": trained.data_window,
        "tenants": trained.tenants,
        "counts": trained.counts,
        "algorithm": "logistic regression of standardized features (scikit-learn), L2 C="
        + str(trained.pipeline.named_steps["model"].C),
        "software": {name: package_version(name) for name in ("scikit-learn", "skops", "numpy")},
        "inputs": [
            {
                "name": i.name,
                "kind": i.kind.value,
                "description": i.description,
                "when_missing": i.when_missing.value,
            }
            for i in spec.inputs
        ],
        "features": [
            {"name": f.name, "source": f.source, "description": f.description}
            | {k: v for k, v in c.items() if k != "feature"}
            for f, c in zip(spec.features, trained.coefficients(), strict=True)
        ],
        "tiers": {
            "low": f"score < {spec.tiers.medium_from}",
            "medium": f"{spec.tiers.medium_from} <= score < {spec.tiers.high_from}",
            "high": f"score >= {spec.tiers.high_from}",
        },
        "metrics": {
            "train": _metrics(trained.metrics["train"]),
            "test": _metrics(trained.metrics["test"]),
            "test_by_group": {
                grouping: {value: _metrics(m) for value, m in groups.items()}
                for grouping, groups in trained.test_by_group.items()
            },
        },
        "score_reference": trained.reference,
    }


def _figure(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metrics_row(label: str, m: dict[str, Any]) -> str:
    cells = [
        label,
        _figure(m["units"]),
        _figure(m["events"]),
        _figure(m["auroc"]),
        _figure(m["auprc"]),
        _figure(m["brier"], 4),
        _figure(m["calibration_slope"], 2),
        _figure(m["calibration_intercept"], 2),
    ]
    return "| " + " | ".join(cells) + " |"


def card_markdown(card: dict[str, Any]) -> str:
    window = card["data_window"]
    metrics = card["metrics"]
    header = (
        "| split / group | units | events | AUROC | AUPRC | Brier | calibration slope "
        "| calibration intercept |\n|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"# {card['title']} — `{card['model']}` version {card['version']}",
        "",
        f"Trained {card['trained_at']} on data as of {window['as_of']} "
        f"(feature specification {card['spec_version']}; {card['algorithm']}).",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "## Limits",
        *[f"- {limit}" for limit in card["limits"]],
        "",
        "## Data",
        f"- Unit: {card['unit']}",
        f"- Outcome: {card['outcome']}",
        f"- Training units: index dates {window['train_index_dates']['from']} to "
        f"{window['train_index_dates']['to']}, outcomes observed through "
        f"{window['train_outcomes_through']}; {card['counts']['train_units']} units, "
        f"{card['counts']['train_events']} events.",
        f"- Test units (time-based split, from {window['test_from']}): index dates "
        f"{window['test_index_dates']['from']} to {window['test_index_dates']['to']}; "
        f"{card['counts']['test_units']} units, {card['counts']['test_events']} events.",
        f"- Tenants: {len(card['tenants'])}.",
        "",
        "## Features",
        "| feature | from input | description | coefficient (per unit) |",
        "|---|---|---|---|",
        *[
            f"| {f['name']} | {f['source']} | {f['description']} | "
            f"{f['coefficient_per_unit']:.4f} |"
            for f in card["features"]
        ],
        "",
        "Missing inputs: "
        + "; ".join(f"{i['name']}: {i['when_missing']}" for i in card["inputs"])
        + ". `indicator`: scored with the model's missing-value feature; `absent`: counted "
        "as not present; `refuse`: no score. Every missing input is named with the score.",
        "",
        "## Tiers",
        *[f"- {tier}: {rule}" for tier, rule in card["tiers"].items()],
        "",
        "## Metrics",
        header,
        _metrics_row("train", metrics["train"]),
        _metrics_row("test", metrics["test"]),
        *[
            _metrics_row(f"test, {grouping} = {value}", m)
            for grouping, groups in metrics["test_by_group"].items()
            for value, m in groups.items()
        ],
        "",
        "Groups with fewer than 11 events or non-events show no metrics (counts of 1-10 "
        "suppressed).",
        "",
        "## Calibration (test split, deciles of predicted risk)",
        "| mean predicted | observed | units |",
        "|---|---|---|",
        *[
            f"| {b['mean_predicted']:.4f} | {b['observed_rate']:.4f} | {b['units']} |"
            for b in metrics["test"]["calibration_curve"]
        ],
        "",
    ]
    return "\n".join(lines)
