"""Why do the attacks rank as they do on an audit? Diagnostics over a finished TMI audit's
tables (e.g. a `bench/attack_quality.py --keep DIR` run), pooled over its replicates:

1. views: each attack on the clean view alone, on the augmented views alone, on all views;
2. how alike the views are: the mean correlation between views of the LiRA statistic across
   OUT shadows (1 = every view says the same thing);
3. where the signal sits: a 1-D LiRA on the mean of the views versus on the clean view minus
   the mean augmented view (how a point reacts to augmentation);
4. the confidence threshold: its AUC with the sign it has, the members' and non-members' mean
   confidence, and its AUC within each downstream class of the challenge points.

AUCs here are pooled over victims, points and replicates, without intervals: they compare
variants of one audit, they are not the audit's numbers (those are in metrics.json).

    python bench/attack_ordering.py DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leakaudit.core.seeds import torch_generator  # noqa: E402
from leakaudit.core.tables import read_table  # noqa: E402
from leakaudit.tmi.attack_inputs import AttackInputs, build_inputs  # noqa: E402
from leakaudit.tmi.attacks.features import scaled_logodds  # noqa: E402
from leakaudit.tmi.attacks.lira import adapted_lira, gaussian_lr  # noqa: E402
from leakaudit.tmi.attacks.threshold import confidence_threshold  # noqa: E402
from leakaudit.tmi.attacks.tmi import tmi_scores  # noqa: E402
from leakaudit.tmi.params import Params, load_params  # noqa: E402
from leakaudit.tmi.pipeline import PIPELINE  # noqa: E402
from leakaudit.tmi.signals import to_arrays  # noqa: E402


def load(repo: Path, seed: int, p: Params) -> tuple[AttackInputs, np.ndarray]:
    """One replicate's attack inputs and each challenge point's source index."""
    def table(name: str, **fields: str):
        return read_table(PIPELINE.path(name, seed, repo, **fields), PIPELINE.table(name).schema)

    points, members = table("points"), table("membership")
    fin = to_arrays(table("signals", view="finetuned"))
    inputs = build_inputs(fin, members, points, p.attack.n_victims, seed)
    src = points.set_index("point_id").loc[fin.point_ids, "source_index"].to_numpy()
    return inputs, src


def subset(x: AttackInputs, views: list[int]) -> AttackInputs:
    """The same inputs restricted to some views."""
    from dataclasses import replace

    return replace(x, probs=x.probs[:, :, views], logodds=x.logodds[:, :, views])


def lira(x: AttackInputs, covariance: str, ridge: float) -> np.ndarray:
    return adapted_lira(x.probs, x.logodds, x.member, x.shadow_mask(), x.victims, covariance,
                        ridge)


def gathered(x: AttackInputs) -> np.ndarray:
    """[V, T, M, A]: every model's log-odds at the victim's argmax class of each view (the
    statistic adapted LiRA models)."""
    cls = x.probs[x.victims].argmax(-1)  # [V, T, A]
    by_point = x.logodds.transpose(1, 0, 2, 3)  # [T, M, A, K]
    return np.stack([np.take_along_axis(by_point, cls[v][:, None, :, None], -1)[..., 0]
                     for v in range(len(x.victims))])


def one_d(x: AttackInputs, stat: np.ndarray, ridge: float) -> np.ndarray:
    """A 1-D Gaussian LiRA on a per-model statistic ``stat`` [V, T, M]."""
    v, t, m = stat.shape
    mem = x.member.T[None]
    sh = x.shadow_mask()
    obs = np.stack([stat[i, :, x.victims[i]] for i in range(v)])[..., None]  # [V, T, 1]
    return gaussian_lr(obs.reshape(v * t, 1), stat.reshape(v * t, m, 1),
                       (mem & sh).reshape(v * t, m), (~mem & sh).reshape(v * t, m),
                       "diag", ridge).reshape(v, t)


def view_correlation(g: np.ndarray, x: AttackInputs) -> float:
    """Mean off-diagonal correlation between views across OUT shadows ([V, T, M, A])."""
    out = ~x.member.T[None] & x.shadow_mask()  # [V, T, M]
    cors = []
    for v in range(g.shape[0]):
        for t in range(0, g.shape[1], 4):  # every 4th point: plenty for a mean
            s = g[v, t][out[v, t]]
            c = np.corrcoef(s.T)
            a = c.shape[0]
            vals = c[~np.eye(a, dtype=bool)]
            if np.isfinite(vals).all():
                cors.append(vals.mean())
    return float(np.mean(cors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    args = ap.parse_args()
    p = load_params(args.repo / "params.yaml")
    data = None
    if p.data.source == "wordnet" or p.data.modality == "text":
        from leakaudit.tmi.data import load_source

        data = load_source(p)
    rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    cors, means = [], {"members": [], "non-members": []}
    per_class: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(name: str, scores: np.ndarray, x: AttackInputs) -> None:
        rows.setdefault(name, []).append((scores.reshape(-1), x.member[x.victims].reshape(-1)))

    for seed in p.replicates.seeds:
        x, src = load(args.repo, seed, p)
        a = x.probs.shape[2]
        ridge = p.attack.lira.ridge
        for label, views in (("clean view", [0]), ("augmented views", list(range(1, a))),
                             ("all views", list(range(a)))):
            xs = subset(x, views)
            add(f"lira full, {label}", lira(xs, "full", ridge), xs)
            add(f"lira diag, {label}", lira(xs, "diag", ridge), xs)
            add(f"tmi, {label}", tmi_scores(scaled_logodds(xs.logodds), xs.member,
                                            xs.shadow_mask(), xs.victims, p.attack.tmi,
                                            torch_generator(seed, "tmi")), xs)
            add(f"threshold, {label}", confidence_threshold(xs.probs, xs.victims), xs)
        g = gathered(x)
        cors.append(view_correlation(g, x))
        add("1-D lira: mean of views", one_d(x, g.mean(-1), ridge), x)
        add("1-D lira: clean − mean augmented", one_d(x, g[..., 0] - g[..., 1:].mean(-1), ridge),
            x)
        conf = confidence_threshold(x.probs, x.victims)
        mem = x.member[x.victims]
        means["members"].append(conf[mem])
        means["non-members"].append(conf[~mem])
        if data is not None:
            down = data.down_y[src]
            for c in np.unique(down):
                per_class.setdefault(int(c), []).append((conf[:, down == c].reshape(-1),
                                                         mem[:, down == c].reshape(-1)))

    def auc(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
        s = np.concatenate([q[0] for q in pairs])
        y = np.concatenate([q[1] for q in pairs])
        return float(roc_auc_score(y, s))

    print(f"audit {args.repo} ({p.data.source}, replicates {p.replicates.seeds}); pooled AUCs")
    for name, pairs in rows.items():
        print(f"  {name:<40} {auc(pairs):.3f}")
    print(f"  mean correlation between views (OUT shadows): {np.mean(cors):.3f}")
    print("  confidence: members " + f"{np.concatenate(means['members']).mean():.4f}, "
          f"non-members {np.concatenate(means['non-members']).mean():.4f}")
    for c, pairs in sorted(per_class.items()):
        n = sum(len(q[1]) for q in pairs)
        print(f"  threshold AUC within downstream class {c}: {auc(pairs):.3f} ({n} scores)")


if __name__ == "__main__":
    main()
