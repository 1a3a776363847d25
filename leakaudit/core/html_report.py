"""One self-contained HTML report per audit, and an index of every audit and sweep in the repo.

The report (``report.html`` beside each pipeline's ``dvc.yaml``, its last DVC stage) holds the
threat model, the headline table with intervals and low-FPR evidence flags, log-log ROC curves
of every attack (both arms for backdoors) as inline SVG, the null control and utility (TMI) or
non-target leakage and stealth (backdoors), and provenance: the audit id (the MLflow tag
``audit_id``), the params, and every upstream stage's hashes from ``dvc.lock``. No scripts,
fonts or images are fetched: the file can be mailed. It is a DVC output, so it holds nothing
that changes between identical runs; the index (:mod:`leakaudit.core.report_index`, not tracked)
adds what does: the git commit, the MLflow run ids and links, and the sweeps found.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from leakaudit.core.layout import PLOTS
from leakaudit.core.pipeline import Pipeline
from leakaudit.core.store import atomic_path
from leakaudit.core.tables import table_meta
from leakaudit.core.terminal import interval, number, thin

REPORT = "report.html"

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;border-bottom:1px solid #eee;
text-align:right;vertical-align:top}small{color:#666}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.thin{color:#a33;font-style:italic}.v{white-space:nowrap}.note{color:#555;font-size:.92em}code{font-size:.92em}
.warn{background:#fdecea;border-left:4px solid #c0392b;padding:.5em 1em}
.verdict{background:#eef5fb;border-left:4px solid #2c6fad;padding:.5em 1em;font-size:1.05em}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots svg{max-width:520px;height:auto}
"""


def esc(x: Any) -> str:
    """HTML-escaped text of any value."""
    return html.escape(str(x))


def cell(m: dict, key: str) -> str:
    """'value [low, high]' for an HTML table, with the evidence behind a TPR@FPR; a value
    whose weakest ROC rests on too little evidence is shown as not reportable, with why."""
    reason = thin(m, key)
    if reason:
        return f'<span class="thin">{esc(reason)}</span>'
    if m.get(key) is None:
        return "–"
    negatives = m.get(key + "_negatives")
    evidence = f"<br><small>{negatives} negatives</small>" if negatives is not None else ""
    return f'<span class="v">{esc(number(m[key]) + interval(m, key))}</span>{evidence}'


def table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table; cells are HTML already (escape text before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def roc_svg(roc_csv: Path, aucs: dict[str, float], title: str) -> str:
    """The log-log ROC curves of ``roc_csv`` (one column per attack over an FPR grid) as an
    inline SVG, byte-identical for identical inputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = pd.read_csv(roc_csv)
    floor = 1e-4
    with matplotlib.rc_context({"svg.hashsalt": "leakaudit", "svg.fonttype": "path"}):
        fig, ax = plt.subplots(figsize=(5.6, 5))
        fpr = curves.fpr.clip(lower=floor)
        for name in curves.columns.drop("fpr"):
            ax.step(fpr, curves[name].clip(lower=floor), where="post",
                    label=f"{name} (AUC {aucs.get(name, float('nan')):.3f})")
        ax.plot([floor, 1], [floor, 1], "k--", lw=0.8, label="chance")
        ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1), title=title,
               xlabel="false positive rate", ylabel="true positive rate")
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)  # RDF boilerplate
    return svg[svg.index("<svg"):]  # drop the XML prologue and doctype: inline in HTML


def lock_rows(lock_file: Path, names: list[str]) -> list[list[str]]:
    """Per stage of ``names`` in ``dvc.lock``: a digest of its outputs' hashes, so a reader
    can tell which recorded run the numbers come from (``dvc.lock`` holds the rest)."""
    if not lock_file.exists():
        return []
    stages = (yaml.safe_load(lock_file.read_text()) or {}).get("stages", {})

    def digest(entries: Any) -> str:
        return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:12]

    flat = {}
    for name, s in stages.items():  # foreach stages nest their items: name@item
        items = s.items() if "cmd" not in s else [(None, s)]
        flat |= {name if k is None else f"{name}@{k}": v for k, v in items}
    return [[esc(name), f"<code>{digest(flat[name].get('outs'))}</code>"]
            for name in names if name in flat]  # the pipeline's order, not the lock's


def build(pipe: Pipeline, folder: Path) -> str:
    """The report of the audit whose files are under ``folder`` (its pipeline directory)."""
    m = json.loads((folder / pipe.metrics_file).read_text())
    meta = table_meta(pipe.path("metrics", root=folder))
    params = yaml.safe_load((folder / "params.yaml").read_text())
    aucs = {k: v["auc"] for k, v in m.items() if isinstance(v, dict) and "auc" in v}
    parts = [f"<h1>leakaudit: the <code>{esc(pipe.name)}</code> audit</h1>",
             f"<p>{esc(pipe.threat)}</p>", *pipe.html_sections(m, params)]
    parts += ['<h2>ROC curves (log-log)</h2><div class="plots">',
              roc_svg(folder / PLOTS / "roc.csv", aucs, pipe.name), "</div>"]
    experiment = (params.get("tracking") or {}).get("experiment", "")
    parts += ["<h2>Provenance</h2>", table(["", ""], [
        ["pipeline", f"<code>{esc(pipe.name)}</code> (folder <code>{esc(pipe.folder)}</code>)"],
        ["audit id (hash of every audited param)", f"<code>{esc(meta.get('audit_id'))}</code>"],
        ["MLflow", f"experiment <code>{esc(experiment)}</code>, runs tagged "
                   f"<code>audit_id={esc(meta.get('audit_id'))}</code>"],
    ]), "<h3>Stages (dvc.lock)</h3>",
        table(["stage", "outputs digest (dvc.lock)"],
              lock_rows(folder / "dvc.lock", [n for n in pipe.stage_names(
                  pipe.params.model_validate(params)) if n != "report"])),  # not its own entry
        "<details><summary>params.yaml</summary><pre>"
        f"{esc(yaml.safe_dump(params, sort_keys=False))}</pre></details>"]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>leakaudit '
            f"{esc(pipe.name)} report</title><style>{STYLE}</style></head><body>\n{body}\n"
            "</body></html>\n")


def write_report(pipe: Pipeline, folder: Path) -> Path:
    """Build and atomically write ``folder/report.html``."""
    path = folder / REPORT
    text = build(pipe, folder)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
