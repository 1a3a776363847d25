"""The inspection's verdict and explanation: a terminal table and a self-contained HTML
section (:mod:`leakaudit.core.html_report` style)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leakaudit.core.html_report import STYLE, esc, table
from leakaudit.inspect.detector import Detector
from leakaudit.inspect.inspector import SIGNALS, Inspection

# what the evaluation (docs/inspect-checkpoint.md) found the detector does not catch
BLIND_SPOTS = (
    "a poison aimed at records that are not among the records you give it (it compares your "
    "records with public probes: without --probe-data it sees only weight and calibration "
    "signals)",
    "memorise poisons, which lower their targets' loss into the range of ordinary easy "
    "examples (CNN detection AUC 0.67 with a reference)",
    "a poison that moves many records a little instead of a few far (inside the 99.5 % tail)",
    "checkpoint families without a fitted detector (causal LMs, encoders): signals only",
)


@dataclass(frozen=True)
class Verdict:
    """The detector's score, threshold and call (None when no detector fits the family)."""

    score: float | None
    threshold: float | None
    suspicious: bool | None
    contributions: dict[str, float]
    fresh: dict | None = None  # the threshold's measured FPR/TPR on fresh releases

    @property
    def unreliable(self) -> bool:
        """The threshold flagged more than 10 % of fresh benign releases."""
        return bool(self.fresh) and self.fresh["fpr"] > 0.1

    @property
    def caveat(self) -> str:
        """How far the threshold can be trusted, from its measured operating point."""
        f = self.fresh
        if not f:
            return "the threshold has not been evaluated on fresh releases"
        return (f"on {f['negatives']} benign and {f['positives']} poisoned fresh-seed releases "
                f"this threshold flagged {f['fpr']:.0%} of the benign and {f['tpr']:.0%} of the "
                f"poisoned (score AUC {f['auc']:.2f}): "
                + ("read the score as a ranking against your own benign baselines, not as a "
                   "verdict" if self.unreliable else "a usable operating point"))

    @property
    def text(self) -> str:
        if self.suspicious is None:
            return "no verdict: no detector is fitted for this checkpoint family"
        if self.suspicious and self.unreliable:
            return (f"flagged, not reliably: score {self.score:.2f} > threshold "
                    f"{self.threshold:.2f}, a threshold that also flags most benign releases")
        if self.suspicious:
            return (f"SUSPICIOUS: score {self.score:.2f} > threshold {self.threshold:.2f} — "
                    "this release looks crafted to make your records leak")
        return (f"no evidence of a leakage-amplifying release: score {self.score:.2f} ≤ "
                f"threshold {self.threshold:.2f} (not a guarantee: see what it does not catch)")


def scored_values(ins: Inspection) -> dict[str, float | None]:
    """What the detector reads: the excess over the benign baseline where one was made."""
    return ins.values if ins.calibrated is None else ins.calibrated


def verdict(ins: Inspection, det: Detector | None) -> Verdict:
    if det is None:
        return Verdict(None, None, None, {})
    values = scored_values(ins)
    score = det.score(values)
    return Verdict(score, det.threshold, score > det.threshold, det.contributions(values),
                   det.fresh)


def _rows(ins: Inspection, v: Verdict) -> list[tuple[str, str, str, str, str]]:
    """Per signal: name, value, the benign continuations' range (if a baseline was made), its
    term of the score, and what it means."""
    rows = []
    for name, (_, says) in SIGNALS.items():
        value = ins.values[name]
        shown = "n/a" if value is None else f"{value:+.3f}"
        base = [b for b in (ins.baseline or {}).get(name, []) if b is not None]
        benign = f"{min(base):+.2f}..{max(base):+.2f}" if base else ""
        if name in ins.missing:
            says = f"({ins.missing[name]}) {says}"
        c = v.contributions.get(name)
        rows.append((name, shown, benign, "" if c is None or value is None else f"{c:+.2f}",
                     says))
    return rows


def explanation(ins: Inspection, v: Verdict) -> list[str]:
    """Why: the signals that pushed the score most, then what the check cannot see."""
    lines = []
    for name, c in sorted(v.contributions.items(), key=lambda kv: -abs(kv[1]))[:3]:
        if ins.values.get(name) is not None and abs(c) >= 0.5:
            lines.append(f"{name} {'raises' if c > 0 else 'lowers'} the score by {abs(c):.2f}:"
                         f" {SIGNALS[name][1]}")
    return lines + [f"does not catch: {b}" for b in BLIND_SPOTS]


def render(ins: Inspection, det: Detector | None) -> str:
    """The terminal report."""
    v = verdict(ins, det)
    rows = _rows(ins, v)
    width = max(len(r[1]) for r in rows)
    bw = max(len(r[2]) for r in rows)
    benign = f" {'benign':>{bw}}" if bw else ""
    out = [f"inspect-checkpoint {ins.path} ({ins.family}: {ins.kind}; "
           f"{ins.seconds:.1f} s; records: {ins.counts or 'none'})",
           f"{'signal':<14} {'value':>{width}}{benign} {'score':>6}  meaning"]
    out += [f"{n:<14} {val:>{width}}{f' {b:>{bw}}' if bw else ''} {c:>6}  {says}"
            for n, val, b, c, says in rows]
    if ins.baseline is not None:
        k = len(next(iter(ins.baseline.values())))
        out.append(f"(benign: the range over {k} benign continuations of --reference on public "
                   "probes; the score reads each signal's excess over their mean)")
    out += ["", v.text]
    if det is not None:
        out.append(f"(detector fitted on {det.fitted_on}; {v.caveat})")
    out += [f"  - {line}" for line in explanation(ins, v)]
    return "\n".join(out)


def html_section(ins: Inspection, det: Detector | None) -> str:
    """The inspection as an HTML section (verdict, signals, explanation)."""
    v = verdict(ins, det)
    rows = [[esc(n), esc(val), esc(b), esc(c), esc(says)] for n, val, b, c, says in _rows(ins, v)]
    items = "".join(f"<li>{esc(line)}</li>" for line in explanation(ins, v))
    fitted = (f"<p class='note'>Detector fitted on {esc(det.fitted_on)}; {esc(v.caveat)}.</p>"
              if det else "")
    return (f"<section><h2>Checkpoint inspection: {esc(ins.path)}</h2>"
            f"<p class='{'warn' if v.suspicious else 'verdict'}'>{esc(v.text)}</p>{fitted}"
            + table(["signal", "value", "benign continuations", "score term", "meaning"], rows)
            + f"<ul>{items}</ul></section>")


def write_html(path: Path, ins: Inspection, det: Detector | None) -> None:
    from leakaudit.core.store import atomic_path

    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>inspect-checkpoint"
            f"</title><style>{STYLE}</style></head><body>{html_section(ins, det)}</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text(page)
