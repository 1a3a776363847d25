"""Stage `poison`: the two released checkpoints. `clean` is the base model unchanged (zero
steps; or, with `poison.clean_arm: aux_only`, the same steps on aux images alone); `poisoned`
minimises (1−α)·L_aux + α·s·L_target on mixed batches of aux images and the attacker's targets:
`memorise` (true labels, s=+1), `maximise` (true labels, s=−1, bounded) or `random_label`
(each target's seeded wrong label, s=+1); with `poison.calibrate` a temperature fitted on aux
images held out of poisoning is then folded into the head. Stealth is recorded for both."""

from leakaudit.backdoor.arms import arm_schedule
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.data import (
    candidate_images,
    heldout_indices,
    load_split,
    split_indices,
)
from leakaudit.backdoor.vision.training import calibration_split, poison
from leakaudit.tables import read_table
from tasks.backdoor_vision._common import ARMS, MODELS, OUT, arm_dir, stage

SECTIONS = ("base", "images", "targets", "poison")


def main() -> None:
    with stage("poison", SECTIONS) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_image_candidates")
        tgt = cands[cands.target]
        tx = candidate_images(p.images.path, tgt.source_index.to_numpy(), p.targets.transform)
        ty = tgt.label.to_numpy()
        train_y = tgt.poison_label.to_numpy() if p.poison.variant == "random_label" else ty
        train = load_split(p.images.path, "train")
        aux = train.take(split_indices(p.images, p.targets.n_candidates, p.base.seed)["aux"])
        aux, calibration = calibration_split(aux, p.poison)
        held = load_split(p.images.path, "test").take(heldout_indices(p.images, p.base.seed))
        for arm in ARMS:
            model, config = classifier.load(MODELS / "base")
            model.to(s.device)
            steps, alpha = arm_schedule(arm, p.poison)
            if steps:
                poison(model, (aux.x, aux.y), (tx, train_y), steps, alpha, p.poison,
                       p.base.seed, s.device)
                if p.poison.calibrate:
                    s.metrics[f"{arm}.temperature"] = classifier.fold_temperature(
                        model, calibration.x, calibration.y, s.device)
            s.metrics[f"{arm}.heldout_loss"], s.metrics[f"{arm}.heldout_accuracy"] = \
                classifier.loss_and_accuracy(model, held.x, held.y, s.device)
            s.metrics[f"{arm}.target_loss"], s.metrics[f"{arm}.target_accuracy"] = \
                classifier.loss_and_accuracy(model, tx, ty, s.device)
            classifier.save(model, config, arm_dir(arm), s.audit_id)
        s.metrics["stealth_heldout_loss_increase"] = (
            s.metrics["poisoned.heldout_loss"] / s.metrics["clean.heldout_loss"] - 1)
        s.metrics["stealth_heldout_accuracy_drop"] = (
            s.metrics["clean.heldout_accuracy"] - s.metrics["poisoned.heldout_accuracy"])


if __name__ == "__main__":
    main()
