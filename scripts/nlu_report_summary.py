"""Summarise Rasa's cross-validation JSON reports as a Markdown table per class."""

from __future__ import annotations

import json
import platform
import sys
from datetime import date
from pathlib import Path


def row(name: str, m: dict) -> str:
    return (
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} "
        f"| {m['support']} |"
    )


def table(report: dict, title: str) -> list[str]:
    rows = [
        f"### {title}",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in sorted(report.items()):
        if not isinstance(m, dict) or "f1-score" not in m or name.endswith("avg"):
            continue
        rows.append(row(name, m))
    for avg in ("micro avg", "macro avg", "weighted avg"):
        if avg in report:
            m = report[avg]
            rows.append(row(f"**{avg}**", m))
    if "accuracy" in report:
        rows.append(f"| **accuracy** | | | {report['accuracy']:.3f} | |")
    return rows + [""]


def main() -> None:
    out = Path(sys.argv[1])
    lines = [
        "# NLU cross-validation (5 folds)",
        "",
        f"Generated {date.today()} by `bash scripts/nlu-report.sh` "
        f"(Python {platform.python_version()}),",
        "pipeline `bot/config.yml`, data `data/nlu/`. Full JSON reports and the confusion",
        "matrix are in `reports/nlu/`. These figures are on the assistant's own training data",
        "(held-out folds), not on outside customer messages.",
        "",
    ]
    intents = out / "intent_report.json"
    if intents.exists():
        lines += table(json.loads(intents.read_text()), "Intents")
    for name in (
        "DIETClassifier_report.json",
        "CRFEntityExtractor_report.json",
        "RegexEntityExtractor_report.json",
    ):
        path = out / name
        if path.exists():
            lines += table(json.loads(path.read_text()), f"Entities ({name.split('_')[0]})")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
