"""One self-contained HTML report per audit, and an index of every audit and sweep in the repo.

The report (``report.html`` beside each pipeline's ``dvc.yaml``, its last DVC stage) holds the
threat model, the headline table with intervals and low-FPR evidence flags, log-log ROC curves
of every attack (both arms for backdoors) as inline SVG, the null control and utility (TMI) or
non-target leakage and stealth (backdoors), and provenance: the audit id (the MLflow tag
``audit_id``), the params, and every upstream stage's hashes from ``dvc.lock``. No scripts,
fonts or images are fetched: the file can be mailed. It is a DVC output, so it holds nothing
that changes between identical runs; the index (:mod:`leakaudit.report_index`, not tracked)
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

from leakaudit.layout import OUT, PLOTS
from leakaudit.pipelines import Pipeline
from leakaudit.statistics import MIN_NEGATIVES
from leakaudit.store import atomic_path
from leakaudit.tables import table_meta
from leakaudit.utility import MIN_GAIN, downstream_warning

REPORT = "report.html"

THREAT = {
    "tmi": "An adversary who can only query a finetuned model wants to know whether a record "
           "was in the data its backbone was pretrained on. It trains shadow models the same "
           "way, queries them and the target with aligned views, and fits a metaclassifier per "
           "record (TMI); the table compares it with LiRA, a confidence threshold and a "
           "white-box upper bound on the same models.",
    "backdoor": "An attacker publishes a poisoned pretrained checkpoint; a victim finetunes it "
                "on private data, and the attacker later queries the finetuned model to tell "
                "which of its target records the victim trained on. The audit measures how "
                "much more the victim leaks than after finetuning a clean checkpoint, and at "
                "what cost to the checkpoint's quality (stealth).",
}

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;border-bottom:1px solid #eee;
text-align:right;vertical-align:top}small{color:#666}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.thin{color:#a33;font-style:italic}.v{white-space:nowrap}.note{color:#555;font-size:.92em}code{font-size:.92em}
.warn{background:#fdecea;border-left:4px solid #c0392b;padding:.5em 1em}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots svg{max-width:520px;height:auto}
"""


def esc(x: Any) -> str:
    """HTML-escaped text of any value."""
    return html.escape(str(x))


def cell(m: dict, key: str) -> str:
    """'value [low, high]' for an HTML table, with the evidence behind a TPR@FPR; a value
    resting on fewer than ``MIN_NEGATIVES`` negatives is shown as not reportable."""
    negatives = m.get(key + "_negatives")
    if key + "_unreliable" in m:
        return f'<span class="thin">n/a: {negatives} neg &lt; {MIN_NEGATIVES}</span>'
    if m.get(key) is None:
        return "–"
    low, high = m.get(key + "_low"), m.get(key + "_high")
    ci = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    evidence = f"<br><small>{negatives} negatives</small>" if negatives is not None else ""
    return f'<span class="v">{m[key]:.3f}{ci}</span>{evidence}'


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


def tmi_sections(m: dict) -> list[str]:
    """Headline (every attack, null control, paired difference to TMI), replicates, utility."""
    groups = {"null", "replicates", "utility"}
    attacks = [a for a in m if a not in groups and not a.endswith("_vs")]
    vs = next((k for k in m if k.endswith("_vs")), None)
    tprs = sorted({k.removesuffix("_unreliable") for a in attacks for k in m[a]
                   if k.startswith("tpr_at_") and k.endswith(("fpr", "fpr_unreliable"))},
                  key=lambda k: -float(k.split("_")[2].removesuffix("pct")))
    header = ["attack", "AUC [95 %]", *(f"TPR @ {k.split('_')[2].replace('pct', ' %')} FPR"
                                         for k in tprs),
              "null-control AUC", f"{vs.removesuffix('_vs')} − attack, AUC" if vs else ""]
    rows = []
    for a in attacks:
        d = m[vs].get(a, {}) if vs else {}
        diff = (f"{d['auc_difference']:+.3f} [{d['auc_difference_low']:+.3f}, "
                f"{d['auc_difference_high']:+.3f}]" if d else "–")
        rows.append([f"<b>{esc(a)}</b>", cell(m[a], "auc"), *(cell(m[a], k) for k in tprs),
                     cell(m.get("null", {}).get(a, {}), "auc"), diff])
    out = ["<h2>Headline: mean over replicates, 95 % intervals</h2>", table(header, rows),
           '<p class="note">Intervals: two-way cluster bootstrap within a replicate '
           "(challenge points × victim pairs), hierarchical over replicates; comparisons are "
           "paired. The null control reruns every attack under random membership labels: "
           "its AUC should cover 0.5.</p>"]
    reps = m.get("replicates", {})
    if reps:
        names = sorted({a for r in reps.values() for a in r})
        out += ["<h2>Replicates (AUC)</h2>", table(
            ["replicate", *map(esc, names)],
            [[esc(s), *(f"{r[a]:.3f}" if a in r else "–" for a in names)]
             for s, r in reps.items()])]
    util = m.get("utility", {})
    keys = [k for k in util if not k.endswith(("_low", "_high"))]
    if keys:
        out += ["<h2>Utility</h2>", table(["model", "held-out accuracy [range]"],
                                          [[esc(k), cell(util, k)] for k in keys])]
    return out


def backdoor_sections(m: dict) -> list[str]:
    """Headline per score (best-vs-best first), non-target leakage, stealth, design."""
    cols = (("clean", "auc"), ("poisoned", "auc"), ("amplification", "auc_diff"),
            ("clean", "tpr_at_1pct_fpr"), ("poisoned", "tpr_at_1pct_fpr"),
            ("amplification", "tpr_at_1pct_fpr_ratio"))
    header = ["score", "clean AUC", "poisoned AUC", "AUC difference", "clean TPR@1 %",
              "poisoned TPR@1 %", "TPR@1 % ratio (poisoned / clean)"]
    scores = [k.split(":", 1)[1] for k in m if k.startswith("amplification:")]
    rows = [[f"<b>{esc(s)}</b>", *(cell(m.get(f"{g}:{s}", {}), k) for g, k in cols)]
            for s in scores]
    out = ["<h2>Headline: the targets, clean vs poisoned checkpoint</h2>", table(header, rows),
           '<p class="note"><b>best</b>: each arm scored with the attacker\'s best score, '
           "picked on the other half of the targets. Intervals: two-way cluster bootstrap "
           "(victim pairs × candidates), the same resamples for both arms (paired).</p>"]
    non = m.get("non_targets", {})
    rows = [[esc(k), cell(v, "tpr_at_1pct_fpr_ratio"), cell(v, "auc_diff")]
            for k, v in non.items() if k.startswith("amplification:") and isinstance(v, dict)]
    if rows:
        out += ["<h2>Non-target candidates (is the amplification target-specific?)</h2>",
                table(["score", "TPR@1 % ratio", "AUC difference"], rows)]
    stealth: dict[str, dict[str, float]] = {}  # measurement → reference → value
    for k, v in m.get("stealth", {}).items():
        if k.startswith("vs_") and isinstance(v, int | float):
            ref, name = k.removeprefix("vs_").split(".", 1)
            stealth.setdefault(name, {})[ref] = v
    refs = list(dict.fromkeys(r for v in stealth.values() for r in v))
    if stealth:
        out += ["<h2>Stealth: the poisoned checkpoint vs each reference</h2>", table(
            ["measurement", *(f"vs {esc(r)}" for r in refs)],
            [[esc(n), *(f"{v[r]:+.4f}" if r in v else "–" for r in refs)]
             for n, v in stealth.items()]),
            '<p class="note">Relative loss increase, accuracy drop and calibration-error '
            "difference of the poisoned checkpoint on held-out data; <i>clean</i> is the arm "
            "victims compare against, the others are controls trained for stealth only.</p>"]
    design = m.get("design", {})
    if design:
        out += ["<h2>Design</h2>", table(["", ""], [
            [esc(k), f"{v:g}" if isinstance(v, int | float) else esc(v)]
            for k, v in design.items()])]
    return out


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
    meta = table_meta(pipe.metrics_table.path(folder / OUT))
    params = yaml.safe_load((folder / "params.yaml").read_text())
    aucs = {k: v["auc"] for k, v in m.items() if isinstance(v, dict) and "auc" in v}
    parts = [f"<h1>leakaudit: the <code>{esc(pipe.name)}</code> audit</h1>",
             f"<p>{esc(THREAT[pipe.family])}</p>"]
    if pipe.family == "tmi":
        gain = (params.get("evaluate") or {}).get("min_downstream_gain", MIN_GAIN)
        warning = downstream_warning(m.get("utility", {}), gain)
        parts += [f'<p class="warn"><b>Warning:</b> {esc(warning)}</p>'] if warning else []
    parts += tmi_sections(m) if pipe.family == "tmi" else backdoor_sections(m)
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
              lock_rows(folder / "dvc.lock", [n for n in pipe.stages(
                  pipe.model.model_validate(params)) if n != "report"])),  # not its own entry
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
