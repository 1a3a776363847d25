"""Print a privacy-backdoor audit's metrics.json as a compact table: per score, both arms' AUC
and TPR@1 % FPR with intervals and the paired poisoned/clean comparison; then non-target
leakage and stealth. Best-vs-best comes first, as in the file."""

from __future__ import annotations

from leakaudit.core.html_report import cell as html_cell
from leakaudit.core.html_report import esc, table
from leakaudit.core.terminal import cell, interval, number, thin

# (row group, metric, header); amplification = poisoned vs clean, paired
COLUMNS = (("clean", "auc", "clean AUC"), ("poisoned", "auc", "poisoned AUC"),
           ("amplification", "auc_diff", "AUC difference"),
           ("clean", "tpr_at_1pct_fpr", "clean TPR@1%"),
           ("poisoned", "tpr_at_1pct_fpr", "poisoned TPR@1%"),
           ("amplification", "tpr_at_1pct_fpr_ratio", "TPR@1% ratio"))


def verdict(m: dict) -> str | None:
    """One line a person can act on, from best-vs-best amplification: the paired TPR ratio at
    1 % FPR when it rests on enough evidence, else the AUC difference; "no amplification
    detected" when that interval reaches 0. The DP audit's bounds follow when it ran."""
    line = _amplification_verdict(m)
    d = m.get("dp_audit")
    if line is None or not d:
        return line
    claim = d.get("claimed_epsilon")
    claim = f"claimed ε {number(claim)}" if isinstance(claim, int | float) else "no DP"
    c, p = d.get("clean", {}), d.get("poisoned", {})
    return (f"{line} DP audit ({claim}): one-run ε lower bound {number(c.get('epsilon_lb'))} "
            f"with the clean checkpoint, {number(p.get('epsilon_lb'))} with the poisoned one "
            f"(ceiling {number(p.get('ceiling'))}); correct-guess rate poisoned − clean "
            f"{cell(d.get('difference', {}), 'correct_rate_diff')}.")


def _amplification_verdict(m: dict) -> str | None:
    a, clean, poisoned = (m.get(k, {}) for k in ("amplification:best", "clean:best",
                                                 "poisoned:best"))
    if "auc_diff" not in a:
        return None
    runs = (m.get("design") or {}).get("replicates", 1)
    where = (f"(best score per arm, each half of the targets scored with the score picked on "
             f"the other; {runs} replicate{'s' if runs != 1 else ''})")
    if a.get("auc_diff_low") is not None and a["auc_diff_low"] <= 0:
        return (f"No amplification detected: a victim finetuning the poisoned checkpoint leaks "
                f"no more than with the clean one (AUC difference {number(a['auc_diff'])}"
                f"{interval(a, 'auc_diff')}) {where}.")
    key = "tpr_at_1pct_fpr_ratio"
    if key in a:
        return (f"Finetuning the poisoned checkpoint instead of the clean one makes the victim "
                f"leak ×{number(a[key])}{interval(a, key)} more of its private data at 1 % FPR "
                f"(TPR {cell(clean, 'tpr_at_1pct_fpr')} → {cell(poisoned, 'tpr_at_1pct_fpr')}) "
                f"{where}.")
    return (f"Finetuning the poisoned checkpoint instead of the clean one raises the attacker's "
            f"AUC on the victim's private data by {number(a['auc_diff'])}"
            f"{interval(a, 'auc_diff')} (clean {number(clean.get('auc'))}, poisoned "
            f"{number(poisoned.get('auc'))}) {where}; the TPR ratio at 1 % FPR is not "
            f"reportable ({thin(a, key) or 'not measured'}).")


DP_ROWS = (("clean", "clean checkpoint"), ("poisoned", "poisoned checkpoint"))


def dp_summary(m: dict) -> tuple[str, list[list[str]]] | None:
    """The one-run DP audit as a caption and rows (arm, ε_lb, ceiling, correct / guesses,
    correct-guess rate), or None when the audit did not run."""
    d = m.get("dp_audit")
    if not d:
        return None
    claim = d.get("claimed_epsilon")
    caption = (f"claimed ε {number(claim) if isinstance(claim, int | float) else claim} "
               f"(δ {d.get('delta')}); one run per victim: {d.get('victims_per_arm')} victims "
               f"× {d.get('canaries_per_victim')} canaries (included with probability ½), "
               f"IN for the top {d.get('guesses_per_side')} and OUT for the bottom "
               f"{d.get('guesses_per_side')} scores of each; victims pooled")
    rows = [[label, number(a.get("epsilon_lb")), number(a.get("ceiling")),
             f"{a.get('correct')} / {a.get('guesses')}",
             cell(a, "correct_rate")]
            for arm, label in DP_ROWS if isinstance(a := d.get(arm), dict)]
    rows.append(["poisoned − clean (paired)", "", "", "",
                 cell(d.get("difference", {}), "correct_rate_diff")])
    return caption, rows


DP_HEADER = ["", "ε lower bound (95 %)", "ceiling (perfect attack)", "correct / guesses",
             "correct-guess rate"]


def render_backdoor(metrics: dict) -> str:
    """One line per score (``best`` first): clean and poisoned AUC, their paired difference,
    clean and poisoned TPR@1 % FPR (with its negatives), their paired ratio; then the
    non-target ratios and the stealth measurements."""
    scores = [k.split(":", 1)[1] for k in metrics if k.startswith("amplification:")]
    head = f"{'score':<12}" + "".join(f"{label:>32}" for _, _, label in COLUMNS)
    lines = [f"VERDICT: {metrics['verdict']}"] if metrics.get("verdict") else []
    lines.append(head)
    for score in scores:
        lines.append(f"{score:<12}" + "".join(
            f"{cell(metrics.get(f'{arm}:{score}', {}), m):>32}" for arm, m, _ in COLUMNS))
    non = metrics.get("non_targets", {})
    for key, m in non.items():
        if key.startswith("amplification:") and isinstance(m, dict):
            lines.append(f"non-targets {key}: TPR@1% ratio {cell(m, 'tpr_at_1pct_fpr_ratio')}")
    stealth: dict[str, list[str]] = {}
    for key, value in metrics.get("stealth", {}).items():
        if key.startswith("vs_") and isinstance(value, int | float):
            ref, name = key.split(".", 1)
            stealth.setdefault(ref, []).append(f"{name} {value:+.4f}")
    for ref, items in stealth.items():
        lines.append(f"stealth, poisoned {ref.replace('_', ' ', 1)}: " + ", ".join(items))
    dp = dp_summary(metrics)
    if dp:
        lines.append(f"DP audit: {dp[0]}")
        lines += ["  " + row[0] + ": " + ", ".join(
            f"{h} {c}" for h, c in zip(DP_HEADER[1:], row[1:], strict=True) if c)
            for row in dp[1]]
    return "\n".join(lines)


def html_sections(m: dict) -> list[str]:
    """Headline per score (best-vs-best first), non-target leakage, stealth, design."""
    cols = (("clean", "auc"), ("poisoned", "auc"), ("amplification", "auc_diff"),
            ("clean", "tpr_at_1pct_fpr"), ("poisoned", "tpr_at_1pct_fpr"),
            ("amplification", "tpr_at_1pct_fpr_ratio"))
    header = ["score", "clean AUC", "poisoned AUC", "AUC difference", "clean TPR@1 %",
              "poisoned TPR@1 %", "TPR@1 % ratio (poisoned / clean)"]
    scores = [k.split(":", 1)[1] for k in m if k.startswith("amplification:")]
    rows = [[f"<b>{esc(s)}</b>", *(html_cell(m.get(f"{g}:{s}", {}), k) for g, k in cols)]
            for s in scores]
    out = [f'<p class="verdict"><b>Verdict:</b> {esc(m["verdict"])}</p>'] if m.get("verdict") \
        else []
    out += ["<h2>Headline: the targets, clean vs poisoned checkpoint</h2>", table(header, rows),
           '<p class="note"><b>best</b>: each arm scored with the attacker\'s best score, '
           "picked on the other half of the targets. Intervals: two-way cluster bootstrap "
           "(victim pairs × candidates), the same resamples for both arms (paired).</p>"]
    non = m.get("non_targets", {})
    rows = [[esc(k), html_cell(v, "tpr_at_1pct_fpr_ratio"), html_cell(v, "auc_diff")]
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
    dp = dp_summary(m)
    if dp:
        out += ["<h2>DP audit: did the victims' guarantee hold?</h2>",
                f'<p class="note">{esc(dp[0])}. The bound is the largest ε the correct guesses '
                "rule out at 95 % (Steinke, Nasr &amp; Jagielski 2023); the ceiling is what a "
                "perfect attack would reach with the same guesses. Black-box scores: expect "
                "bounds far below the claim; what matters is whether the poisoned checkpoint "
                "moves them (the paired difference).</p>",
                table(DP_HEADER, [[esc(c) for c in row] for row in dp[1]])]
    design = m.get("design", {})
    if design:
        out += ["<h2>Design</h2>", table(["", ""], [
            [esc(k), f"{v:g}" if isinstance(v, int | float) else esc(v)]
            for k, v in design.items()])]
    return out
