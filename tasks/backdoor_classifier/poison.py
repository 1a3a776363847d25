"""Stage `poison`: the two released checkpoints and the stealth controls
(:mod:`leakaudit.backdoor.arms`). `poisoned` minimises (1−α)·L_aux + α·s·L_target on mixed
batches of aux examples and the attacker's targets: `memorise` (true labels, s=+1), `maximise`
(true labels, s=−1, bounded) or `random_label` (each target's seeded wrong label, s=+1); the
clean arm is the base model, the aux-only run or the same poisoning of non-candidate decoys.
With `poison.calibrate` every checkpoint gets a temperature fitted on aux examples held out of
poisoning; held-out loss, accuracy and calibration error are recorded before and after."""

from leakaudit.backdoor.arms import arm_dir, release_checkpoints, schedule
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.data import random_wrong_labels
from leakaudit.backdoor.vision.training import calibration_split, poison
from tasks._stage import stage

MEASURED = ("heldout_loss", "heldout_accuracy", "heldout_ece", "raw_heldout_loss",
            "raw_heldout_ece")


def main() -> None:
    with stage("poison") as s:
        p, domain = s.params, s.pipeline.domain
        cands = s.read("candidates")
        tgt = cands[cands.target]
        tx = domain.candidates(p, tgt.source_index.to_numpy())
        ty = tgt.label.to_numpy()
        parts = domain.parts(p, n_decoys=p.targets.n_targets)
        aux, calibration = calibration_split(domain.examples(p, parts["aux"]), p.poison)
        decoys = domain.examples(p, parts["decoys"])
        held = domain.heldout(p)
        wrong = p.poison.variant == "random_label"
        data = {"targets": (tx, tgt.poison_label.to_numpy() if wrong else ty),
                "decoys": (decoys.x, random_wrong_labels(decoys.y, p.base.seed,
                                                         domain.n_classes)
                           if wrong else decoys.y)}

        def train_kind(kind: str):
            model, _ = classifier.load(s.path("base_model"))
            model.to(s.device)
            steps, alpha, what = schedule(kind, p.poison)
            if steps:
                poison(model, (aux.x, aux.y), data.get(what, data["targets"]), steps, alpha,
                       p.poison, p.base.seed, s.device, domain.seed_prefix)
            raw = classifier.classifier_metrics(model, held.x, held.y, s.device)
            temperature = classifier.fold_temperature(
                model, calibration.x, calibration.y, s.device) if p.poison.calibrate else 1.0
            heldout = classifier.classifier_metrics(model, held.x, held.y, s.device)
            target = classifier.classifier_metrics(model, tx, ty, s.device)
            return model, {"temperature": temperature,
                           "raw_heldout_loss": raw["loss"], "raw_heldout_ece": raw["ece"],
                           **{f"heldout_{k}": v for k, v in heldout.items()},
                           **{f"target_{k}": v for k, v in target.items()}}

        config = classifier.load(s.path("base_model"))[1]
        s.metrics |= release_checkpoints(
            p.poison, train_kind,
            lambda m, arm: classifier.save(m, config, arm_dir(arm), s.audit_id), MEASURED)


if __name__ == "__main__":
    main()
