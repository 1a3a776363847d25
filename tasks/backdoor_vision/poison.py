"""Stage `poison`: the two released checkpoints. `clean` is the base model unchanged (zero
steps; or, with `poison.clean_arm: aux_only`, the same steps on aux images alone); `poisoned`
minimises (1−α)·L_aux + α·s·L_target on mixed batches of aux images and the attacker's targets:
`memorise` (true labels, s=+1), `maximise` (true labels, s=−1, bounded) or `random_label`
(each target's seeded wrong label, s=+1); with `poison.calibrate` a temperature fitted on aux
images held out of poisoning is then folded into the head. Stealth is recorded for both."""

import numpy as np
import torch
from torch import nn

from leakaudit.backdoor import classifier
from leakaudit.backdoor.images import (
    Images,
    candidate_images,
    heldout_indices,
    load_split,
    split_indices,
)
from leakaudit.backdoor.objective import poison_loss
from leakaudit.seeds import torch_generator
from leakaudit.tables import read_table
from tasks.backdoor_vision._common import ARMS, MODELS, OUT, arm_dir, stage


def poison(model: nn.Module, aux: tuple, targets: tuple, steps: int, alpha: float, p,
           device) -> None:
    """Adam on mixed batches: one forward over aux + target images (shared BatchNorm
    statistics), the two cross-entropies combined by :func:`poison_loss`."""
    ax, ay = (torch.from_numpy(a).to(device) for a in aux)
    tx, ty = (torch.from_numpy(a).to(device) for a in targets)
    opt = torch.optim.Adam(model.parameters(), lr=p.poison.lr)
    a_it = classifier.cycle(len(ax), p.poison.aux_batch,
                            torch_generator(p.base.seed, "vision-poison-aux"))
    t_it = classifier.cycle(len(tx), p.poison.target_batch,
                            torch_generator(p.base.seed, "vision-poison-targets"))
    model.train()
    for _ in range(steps):
        ai, ti = next(a_it).to(device), next(t_it).to(device)
        if alpha > 0:
            out = model(torch.cat([ax[ai], tx[ti]]))
            a_loss = nn.functional.cross_entropy(out[: len(ai)], ay[ai])
            t_loss = nn.functional.cross_entropy(out[len(ai):], ty[ti], reduction="none")
        else:
            a_loss, t_loss = nn.functional.cross_entropy(model(ax[ai]), ay[ai]), torch.zeros(())
        loss = poison_loss(a_loss, t_loss, alpha, p.poison.variant, p.poison.bound)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def calibration_split(aux: Images, p) -> tuple[Images, Images | None]:
    """(poisoning images, temperature-fitting images): with ``calibrate`` the last
    ``calibration_images`` aux images are held out of poisoning (both arms alike)."""
    if not p.calibrate:
        return aux, None
    n = p.calibration_images
    if n >= len(aux.y):
        raise ValueError(f"poison.calibration_images: got {n}; allowed: < images.aux_images "
                         f"({len(aux.y)})")
    return aux.take(np.arange(len(aux.y) - n)), aux.take(np.arange(len(aux.y) - n, len(aux.y)))


def main() -> None:
    with stage("poison", ("base", "images", "targets", "poison")) as s:
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
            steps = p.poison.steps if arm == "poisoned" or p.poison.clean_arm == "aux_only" else 0
            alpha = p.poison.alpha if arm == "poisoned" else 0.0
            if steps:
                poison(model, (aux.x, aux.y), (tx, train_y), steps, alpha, p, s.device)
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
