"""Summarise Rasa's NLU test reports (outside-voice set and cross-validation) as Markdown:
the headline figures the README quotes, then F1 per intent and entity."""

from __future__ import annotations

import argparse
import json
import platform
from datetime import date
from pathlib import Path

ENTITY_REPORTS = (
    "DIETClassifier_report.json",
    "CRFEntityExtractor_report.json",
    "RegexEntityExtractor_report.json",
)


def row(name: str, m: dict) -> str:
    return (
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} "
        f"| {m['support']} |"
    )


def table(report: dict, title: str) -> list[str]:
    rows = [
        f"#### {title}",
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
            rows.append(row(f"**{avg}**", report[avg]))
    if "accuracy" in report:
        rows.append(f"| **accuracy** | | | {report['accuracy']:.3f} | |")
    return rows + [""]


def headline(report: dict) -> str:
    oos = report.get("out_of_scope", {})
    return (
        f"intent macro-F1 **{report['macro avg']['f1-score']:.3f}**, "
        f"accuracy {report['accuracy']:.3f}, "
        f"out-of-scope recall **{oos.get('recall', 0.0):.3f}** "
        f"({report['macro avg']['support']} messages)"
    )


def section(out: Path, title: str, note: str) -> list[str]:
    intents = out / "intent_report.json"
    if not intents.exists():
        return []
    report = json.loads(intents.read_text())
    lines = [f"## {title}", "", note, "", headline(report), ""]
    lines += table(report, "Intents")
    for name in ENTITY_REPORTS:
        path = out / name
        if path.exists():
            lines += table(json.loads(path.read_text()), f"Entities ({name.split('_')[0]})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outside", type=Path, required=True)
    parser.add_argument("--cv", type=Path, help="cross-validation reports, when run")
    parser.add_argument("--train-seconds", type=int)
    parser.add_argument("--cv-seconds", type=int)
    args = parser.parse_args()
    lines = [
        "# How well the assistant understands customers",
        "",
        f"Generated {date.today()} by `bash scripts/nlu-report.sh` "
        f"(Python {platform.python_version()}), pipeline `bot/config.yml`, data `data/nlu/`.",
        f"NLU training from scratch: {args.train_seconds} s."
        if args.train_seconds is not None
        else "",
        "",
    ]
    lines += section(
        args.outside,
        "Outside-voice set",
        "`tests/nlu/outside_voice*.yml`: customer messages written apart from the training "
        "data and never trained on, scored on a model trained on all of `data/nlu/`. "
        "Rasa's JSON reports and confusion matrix: `reports/nlu-outside/`.",
    )
    cv_note = "Held-out folds of the training data itself. Reports: `reports/nlu/`."
    if args.cv_seconds is not None:
        cv_note += f" Took {args.cv_seconds} s."
    if args.cv:
        lines += section(args.cv, "5-fold cross-validation", cv_note)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
