"""Is `leakaudit inspect-checkpoint` any good? Releases from the vision audit's own recipe,
benign and poisoned, inspected as a user would, with the detector fitted on tuning seeds and
reported on fresh ones.

Per seed (its own pretrained CNN, targets, aux and victim data):

- negatives (benign *modified* releases, never the bare base): the base continued-trained on
  aux data with the poisoning's steps and learning rate (``aux_only``, 7 batch orders) and the
  decoy releases (each variant, α 0.3, on non-candidate decoys: crafted, but not against this
  user's records);
- positives: every poison variant × α ∈ {0.1, 0.3, 0.6, 1.0} on the targets.

The user's records are the victim part plus half of the targets (their own data, as they would
finetune on it); the public probes are Fashion-MNIST test images; the reference is the clean
base. ``--amplify`` also finetunes 4 victims per release (full, 1 epoch, balanced over the
targets) for the stealth–detectability trade-off: the calibrated-loss AUC of the targets
against the same under the seed's first aux-only release.

    python bench/inspect_checkpoint.py --seeds 0 --tune     # fits the detectors (tuning seed)
    python bench/inspect_checkpoint.py --seeds 1 2 3 --amplify 1   # reports on fresh seeds
    python bench/inspect_checkpoint.py --lm KEPT/seed-1/backdoor …  # kept LM audits: signals

The LM check is descriptive: a kept LM audit holds its base, its clean arm (the base, or a
decoy release) and its poisoned release; the user's records are victim 0's PII sentences
(half of them targets), the public probes synthetic PII in the same templates.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from _common import ROOT

from leakaudit.backdoor.domain import Examples
from leakaudit.backdoor.targets import choose_targets
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.data import load_split, random_wrong_labels
from leakaudit.backdoor.vision.domain import IMAGES
from leakaudit.backdoor.vision.training import calibration_split, poison
from leakaudit.core.registry import get as get_pipeline
from leakaudit.core.seeds import rng, torch_generator
from leakaudit.inspect import detector as det
from leakaudit.inspect.baseline import (
    BenignBaseline,
    continuations,
    inspect_calibrated,
    split_public,
)
from leakaudit.inspect.checkpoint import Checkpoint
from leakaudit.inspect.inspector import SIGNALS, inspect
from leakaudit.inspect.records import OPS

VARIANTS = ("maximise", "memorise", "random_label")
ALPHAS = (0.1, 0.3, 0.6, 1.0)
BENIGN_ORDERS = 7
ALONE = ("tail_excess", "low_tail_excess", "canary_gap", "public_loss", "ece")
WITH_REFERENCE = (*ALONE, "shift_excess", "drift")
SIGNALS_OF = {"alone": ALONE, "reference": WITH_REFERENCE, "calibrated": WITH_REFERENCE}
OUT = ROOT / "bench" / "results"
KEYS = ["seed", "kind", "variant", "alpha", "order"]
CAL = "cal_"  # columns of a signal's excess over the benign baseline


def releases() -> list[dict]:
    """Every release a seed makes: kind, variant, α, batch order, label (1 = poisoned)."""
    neg = [{"kind": "aux_only", "variant": "none", "alpha": 0.0, "order": k, "label": 0}
           for k in range(BENIGN_ORDERS)]
    neg += [{"kind": "decoy", "variant": v, "alpha": 0.3, "order": 0, "label": 0}
            for v in VARIANTS]
    pos = [{"kind": "poisoned", "variant": v, "alpha": a, "order": 0, "label": 1}
           for v in VARIANTS for a in ALPHAS]
    return neg + pos


class Seed:
    """One seed's data, base model and user records (the vision audit's recipe)."""

    def __init__(self, seed: int, models: Path, threads: int | None = None) -> None:
        params = yaml.safe_load((ROOT / "backdoor-vision" / "params.yaml").read_text())
        params["base"]["seed"] = seed
        self.p = p = get_pipeline("backdoor-vision").params.model_validate(params)
        torch.set_num_threads(threads or p.base.threads)
        self.seed = seed
        parts = IMAGES.parts(p, n_decoys=p.targets.n_targets)
        cand = IMAGES.examples(p, parts["candidates"])
        is_target = choose_targets(len(cand.y), p.targets.n_targets, seed)
        self.targets = cand.take(np.flatnonzero(is_target))
        self.wrong = random_wrong_labels(cand.y, seed)[is_target]
        decoys = IMAGES.examples(p, parts["decoys"])
        self.decoys = (decoys, random_wrong_labels(decoys.y, seed))
        self.aux, self.calibration = calibration_split(IMAGES.examples(p, parts["aux"]), p.poison)
        self.victim = IMAGES.examples(p, parts["victim"])
        n = len(self.targets.y)
        self.member = rng(seed, "inspect-user-targets").permutation(n) < n // 2
        self.user = Examples(np.concatenate([self.victim.x, self.targets.x[self.member]]),
                             np.concatenate([self.victim.y, self.targets.y[self.member]]))
        self.public = load_split(p.images.path, "test")  # all 10,000: the CLI's default
        self.base, self.config = kept_base(p, models)

    def release(self, r: dict) -> torch.nn.Module:
        """Train one release from the base (the poison stage's loop and calibration)."""
        model = copy.deepcopy(self.base)
        pp = self.p.poison.model_copy(update={"variant": r["variant"], "alpha": r["alpha"]}
                                      if r["variant"] != "none" else {})
        wrong = r["variant"] == "random_label"
        if r["kind"] == "decoy":
            x, y = self.decoys[0].x, self.decoys[1] if wrong else self.decoys[0].y
        else:
            x, y = self.targets.x, self.wrong if wrong else self.targets.y
        streams = "vision" if r["order"] == 0 else f"vision-order{r['order']}"
        poison(model, (self.aux.x, self.aux.y), (x, y), pp.steps, r["alpha"], pp, self.seed,
               "cpu", streams)
        classifier.fold_temperature(model, self.calibration.x, self.calibration.y)
        return model.eval()

    def amplification(self, model: torch.nn.Module, victims: int = 4) -> float:
        """Calibrated-loss AUC over the targets of ``victims`` full finetunes (balanced)."""
        from leakaudit.core.membership import balanced_mask
        from leakaudit.core.metrics import auc, roc

        c = self.p.victims
        n = len(self.targets.y)
        mask = balanced_mask(n, victims, self.seed, "inspect-amplify")
        before = _losses(model, self.targets)
        scores, labels = [], []
        for v in range(victims):
            net = copy.deepcopy(model)
            x = np.concatenate([np.repeat(self.targets.x[mask[:, v]], c.repeats, 0),
                                self.victim.x])
            y = np.concatenate([np.repeat(self.targets.y[mask[:, v]], c.repeats),
                                self.victim.y])
            classifier.fit(net, x, y, c.epochs, c.batch_size, c.lr,
                           torch_generator(self.seed, "inspect-amplify", v))
            scores.append(before - _losses(net, self.targets))
            labels.append(mask[:, v])
        return auc(*roc(np.concatenate(scores), np.concatenate(labels)))


def _losses(model: torch.nn.Module, ex: Examples) -> np.ndarray:
    return OPS["classifier"].losses(None, model, ex)


def kept_base(p, models: Path) -> tuple[torch.nn.Module, dict]:
    """The seed's pretrained base (and its config): trained once, then read back from
    ``models``, so the signals and the benign baseline of one seed share it."""
    from leakaudit.core.store import is_done

    d = models / "base"
    if is_done(d, "bench"):
        return classifier.load(d)
    model, config, _ = IMAGES.base_model(p, "cpu")
    classifier.save(model, config, d, "bench")
    return model, config


def kept_release(s: Seed, r: dict, models: Path) -> tuple[torch.nn.Module, float]:
    """(release, seconds its training took): trained once, then read back from ``models``
    (safetensors), so a changed signal re-inspects without retraining."""
    from leakaudit.core.store import is_done, read_json

    d = models / f"{r['kind']}-{r['variant']}-{r['alpha']}-{r['order']}"
    if is_done(d, "bench"):
        return classifier.load(d)[0].eval(), read_json(d / "timing.json")["release_s"]
    t = time.perf_counter()
    model = s.release(r)
    train_s = time.perf_counter() - t
    classifier.save(model, s.config, d, "bench", records={"timing.json": {"release_s": train_s}})
    return model, train_s


def run_seed(seed: int, amplify: bool, models: Path, threads: int | None) -> pd.DataFrame:
    s = Seed(seed, models, threads)
    reference = Checkpoint(Path("base"), "classifier", "small_cnn_classifier", s.base.eval(),
                           s.config)
    public = s.public
    rows = []
    baseline = None
    for r in releases():
        model, train_s = kept_release(s, r, models)
        ck = Checkpoint(Path(f"{r['kind']}-{r['variant']}-{r['alpha']}"), "classifier",
                        "small_cnn_classifier", model, s.config)
        alone = inspect(ck, s.user, public, None, seed)
        ref = inspect(ck, s.user, public, reference, seed)
        row = {"seed": seed, **r, **{s_: ref.values[s_] for s_ in SIGNALS},
               "release_s": train_s, "inspect_s": alone.seconds,
               "inspect_reference_s": ref.seconds,
               "target_loss": float(_losses(model, s.targets).mean())}
        if amplify:
            a = s.amplification(model)
            if r["kind"] == "aux_only" and r["order"] == 0:
                baseline = a
            row["amplification_auc"] = a
            row["amplification"] = a - baseline
        rows.append(row)
        print(f"seed {seed} {r['kind']:<8} {r['variant']:<12} α={r['alpha']:<4} "
              + " ".join(f"{k}={row[k]:+.3f}" for k in WITH_REFERENCE)
              + f"  ({train_s:.0f}+{alone.seconds:.1f}+{ref.seconds:.1f} s)", flush=True)
    return pd.DataFrame(rows)


def calibrated_seed(seed: int, models: Path, threads: int | None) -> pd.DataFrame:
    """Every release's signals against the CLI's benign baseline (its defaults): continuations
    of the base on half of the public probes, every checkpoint probed with the other half."""
    s = Seed(seed, models, threads)
    ops = OPS["classifier"]
    reference = Checkpoint(Path("base"), "classifier", "small_cnn_classifier", s.base.eval(),
                           s.config)
    cfg = BenignBaseline()
    train, probe = split_public(ops, s.public, seed, cfg.share)
    t = time.perf_counter()
    baseline = [inspect(c, s.user, probe, reference, seed).values
                for c in continuations(ops, reference, train, cfg, seed)]
    baseline_s = time.perf_counter() - t
    rows = []
    for r in releases():
        model, _ = kept_release(s, r, models)
        ck = Checkpoint(Path(r["kind"]), "classifier", "small_cnn_classifier", model, s.config)
        ins = inspect_calibrated(ck, s.user, s.public, reference, seed, cfg, baseline=baseline)
        rows.append({"seed": seed, **{k: r[k] for k in KEYS[1:]},
                     **{CAL + k: v for k, v in ins.calibrated.items()},
                     "baseline_s": baseline_s, "inspect_calibrated_s": ins.seconds})
        print(f"seed {seed} {r['kind']:<8} {r['variant']:<12} α={r['alpha']:<4} calibrated "
              + " ".join(f"{k}={ins.calibrated[k]:+.3f}" for k in WITH_REFERENCE), flush=True)
    return pd.DataFrame(rows)


def with_calibrated(df: pd.DataFrame, seed: int, cache: Path, threads: int | None
                    ) -> pd.DataFrame:
    """``df`` (one seed's releases) with the calibrated columns (cached like the signals)."""
    path = cache / f"vision-seed{seed}-calibrated.csv"
    if not path.exists():
        cal = calibrated_seed(seed, cache / f"vision-seed{seed}-models", threads)
        cal.to_csv(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").replace(path)
    return df.merge(pd.read_csv(path), on=KEYS, validate="one_to_one")


def setting_table(df: pd.DataFrame, setting: str) -> pd.DataFrame:
    """The releases as the setting's detector reads them: the calibrated excess in place of
    the raw signals for ``calibrated``."""
    if setting != "calibrated":
        return df
    return df.assign(**{k: df[CAL + k] for k in WITH_REFERENCE})


def cached(seed: int, amplify: bool, cache: Path, threads: int | None = None) -> pd.DataFrame:
    path = cache / f"vision-seed{seed}{'-amp' if amplify else ''}.csv"
    if path.exists():
        return pd.read_csv(path)
    df = run_seed(seed, amplify, cache / f"vision-seed{seed}-models", threads)
    cache.mkdir(parents=True, exist_ok=True)
    df.to_csv(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[])
    ap.add_argument("--lm", type=Path, nargs="+", default=None,
                    help="inspect the releases of kept LM audit runs (their pipeline folders)")
    ap.add_argument("--tune", action="store_true",
                    help="fit the detectors on these (tuning) seeds' releases and save them")
    ap.add_argument("--amplify", type=int, nargs="*", default=[],
                    help="seeds whose releases also get the 4-victim amplification")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/inspect-bench"))
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default base.threads; 1 lets seeds run side by side)")
    ap.add_argument("--only-cache", action="store_true",
                    help="train and inspect the seeds' releases into the cache; no report")
    a = ap.parse_args()
    if a.lm:
        return lm_kept(a.lm)
    df = pd.concat([with_calibrated(cached(s, s in a.amplify, a.cache, a.threads), s, a.cache,
                                    a.threads) for s in a.seeds], ignore_index=True)
    if a.only_cache:
        return None
    name = "tuning" if a.tune else "fresh"
    df.to_csv(OUT / f"inspect_vision_{name}.csv", index=False)
    if a.tune:
        fitted = f"vision releases of seeds {a.seeds} ({(df.label == 0).sum()} benign, " \
                 f"{(df.label == 1).sum()} poisoned; bench/inspect_checkpoint.py)"
        y = df.label.to_numpy()
        det.save("classifier", {
            setting: det.fit({c: setting_table(df, setting)[c].to_numpy()
                              for c in WITH_REFERENCE}, y, signals, fitted)
            for setting, signals in SIGNALS_OF.items()})
        print(f"detectors saved to {det.detector_file('classifier')}")
    else:
        report(df, pd.read_csv(OUT / "inspect_vision_tuning.csv"))


def lm_kept(folders: list[Path]) -> None:
    """Every signal of the kept LM runs' releases (with and without the base as reference)."""
    from leakaudit.inspect.checkpoint import open_checkpoint

    rows = []
    for f in folders:
        params = yaml.safe_load((f / "params.yaml").read_text())
        seed, clean_kind = params["base"]["seed"], params["poison"]["clean_arm"]
        cands = pd.read_parquet(f / "outputs/targets/candidates.parquet").set_index(
            "candidate_id")
        mem = pd.read_parquet(f / "outputs/membership/membership.parquet")
        mine = mem[(mem.victim_id == 0) & mem.member].candidate_id
        user = cands.loc[mine].text.tolist()
        ref = open_checkpoint(f / "models" / "base")
        for arm, kind, label in (("clean", clean_kind, 0), ("poisoned", "poisoned", 1)):
            ck = open_checkpoint(f / "models" / "released" / arm)
            alone = inspect(ck, user, None, None, seed)
            with_ref = inspect(ck, user, None, ref, seed) if kind != "base" else alone
            rows.append({"seed": seed, "kind": kind, "variant": params["poison"]["variant"],
                         "alpha": params["poison"]["alpha"], "label": label,
                         "user_records": len(user),
                         "targets_in_user": int(cands.loc[mine].target.sum()),
                         **{k: with_ref.values[k] for k in SIGNALS}, "inspect_s": alone.seconds,
                         "inspect_reference_s": with_ref.seconds})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / "inspect_lm_kept.csv", index=False)
    print(df.drop(columns=["ece"]).round(3).to_string())


def tradeoff_plot(df: pd.DataFrame) -> None:
    """Per poison variant against α: the detection score (with reference, mean over seeds),
    the stealth cost (public-probe loss) and, where measured, the amplification."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = df[df.label == 1].groupby(["variant", "alpha"]).mean(numeric_only=True).reset_index()
    benign = df[(df.label == 0) & (df.kind == "aux_only")].mean(numeric_only=True)
    panels = [("score_reference", "detection score (with reference)"),
              ("public_loss", "public-probe loss (stealth cost)")]
    if "amplification" in df and df.amplification.notna().any():
        panels.append(("amplification", "amplification (4-victim AUC − aux-only's)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, (col, title) in zip(axes, panels, strict=True):
        for variant, g in pos.groupby("variant"):
            ax.plot(g.alpha, g[col], marker="o", label=variant)
        if col != "amplification":
            ax.axhline(benign[col], color="grey", ls="--", label="aux-only (benign)")
        ax.set_xlabel("poison α")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "inspect_vision_tradeoff.png", dpi=110)


def report(df: pd.DataFrame, tuning: pd.DataFrame) -> None:
    """Detection on fresh releases by the saved (tuning-seed) detectors, each signal alone,
    what is flagged per release kind, the trade-off curve and the run times."""
    from leakaudit.inspect.evaluation import detection, scores, signal_aucs

    print(f"\nfresh releases: {(df.label == 0).sum()} benign, {(df.label == 1).sum()} "
          f"poisoned over {df.seed.nunique()} seeds {sorted(map(int, df.seed.unique()))}; "
          f"detectors and directions fixed on tuning seeds "
          f"{sorted(map(int, tuning.seed.unique()))}")
    print("setting     AUC [95% seed-clustered]    FPR at fixed threshold [exact]   "
          "TPR at fixed threshold [exact]")
    for setting in det.SETTINGS:
        d = det.load("classifier", setting)
        r = detection(d, setting_table(df, setting))
        det.record_fresh("classifier", setting, {
            "fpr": r.fpr, "tpr": r.tpr, "auc": r.auc, "negatives": r.negatives,
            "positives": r.positives, "seeds": sorted(int(s) for s in df.seed.unique())})
        df[f"score_{setting}"] = scores(d, setting_table(df, setting))
        df[f"flag_{setting}"] = df[f"score_{setting}"] > d.threshold
        print(f"{setting:<11} {r.auc:.3f} [{r.auc_interval[0]:.3f}, {r.auc_interval[1]:.3f}]"
              f"       {r.fpr:.3f} [{r.fpr_interval[0]:.3f}, {r.fpr_interval[1]:.3f}] "
              f"({r.negatives} negatives: resolves {1 / r.negatives:.3f})"
              f"   {r.tpr:.3f} [{r.tpr_interval[0]:.3f}, {r.tpr_interval[1]:.3f}]")
    from leakaudit.core.metrics import auc, roc

    print("\nscore AUC per poison variant (its positives against every negative):")
    for v in VARIANTS:
        keep = ((df.label == 0) | (df.variant == v)).to_numpy()
        y = df.label.to_numpy()[keep]
        print(f"  {v:<13}" + "  ".join(
            f"{setting} {auc(*roc(df[f'score_{setting}'].to_numpy()[keep], y)):.3f}"
            for setting in det.SETTINGS))
    print("\neach signal alone (direction from tuning): AUC")
    cal = tuple(CAL + k for k in WITH_REFERENCE)
    for k, v in signal_aucs(df, (*WITH_REFERENCE, *cal), tuning).items():
        print(f"  {k:<18} {v:.3f}")
    cols = [f"{c}_{setting}" for setting in det.SETTINGS for c in ("score", "flag")]
    cols += ["target_loss"]
    if "amplification" in df:
        cols += ["amplification"]
    print("\nper release kind (mean over seeds; flag = flagged fraction; amplification = "
          "4-victim target AUC minus the aux-only release's, --amplify seeds only):")
    print(df.groupby(["label", "kind", "variant", "alpha"])[cols].mean()
          .round(3).to_string())
    tradeoff_plot(df)
    print("\nwall per release as run (median s; the bench ran 1 torch thread per seed, two jobs "
          "sharing the 2 cores): poisoning "
          f"{df.release_s.median():.1f}, inspection alone {df.inspect_s.median():.1f}, "
          f"with reference {df.inspect_reference_s.median():.1f}")
    print("benign baseline (4 continuations × 500 steps, then signals; once per reference, run "
          f"alone in the serial queue): median {df.baseline_s.median():.1f} s; each release "
          f"against it {df.inspect_calibrated_s.median():.1f} s")


if __name__ == "__main__":
    main()
