"""Stage `victims`: K finetunes per arm from the same victim seeds. Victim v's private data:
its member candidates (``victims.membership`` mask, true labels) repeated r times, mixed into
its generic examples; finetuned with Adam in ``victims.mode`` (every weight, LoRA, or the head
alone), with DP-SGD when ``victims.dp.enabled``. Finished victims are kept (resume skips them)."""

import numpy as np
import torch

from leakaudit.backdoor.arms import ARMS, arm_dir, victim_dir
from leakaudit.backdoor.finetuning import (
    FINETUNE_RECORD,
    MODES,
    trainable_parameters,
    victim_recipe,
)
from leakaudit.backdoor.private import train_private
from leakaudit.backdoor.vision import model as classifier
from leakaudit.core.progress import progress
from leakaudit.core.seeds import torch_generator
from leakaudit.core.store import dir_digest, fingerprint, is_done, read_json
from tasks._stage import stage


def main() -> None:
    with stage("victims") as s:
        p, domain = s.params, s.pipeline.domain
        cands, members = s.read("candidates"), s.read("membership")
        cx = domain.candidates(p, cands.source_index.to_numpy())
        cy = cands.label.to_numpy()
        generic = domain.examples(p, domain.parts(p)["victim"])
        held = domain.heldout(p)
        is_target = cands.target.to_numpy()
        # the released weights themselves: a re-poisoned checkpoint retrains its victims
        released = {arm: dir_digest(arm_dir(arm)) for arm in ARMS}
        recipe = victim_recipe(p.victims)
        mode = MODES[p.victims.mode]
        for arm in ARMS:
            stats: dict[str, list[float]] = {"heldout_loss": [], "heldout_accuracy": [],
                                             "target_loss": [], "trainable_parameters": []}
            for v in progress(range(p.victims.n_victims), f"victims ({arm})", "model"):
                mine = members[(members.victim_id == v) & members.member].candidate_id.to_numpy()
                fp = fingerprint(released[arm], recipe, sorted(mine.tolist()),
                                 *domain.data_settings(p), p.base.seed, v)
                d = victim_dir(arm, v)
                done = is_done(d, fp)
                model, config = classifier.load(d if done else arm_dir(arm))
                model.to(s.device)
                if done:
                    record = read_json(d / FINETUNE_RECORD)
                else:
                    x = np.concatenate([np.repeat(cx[mine], p.victims.repeats, 0), generic.x])
                    y = np.concatenate([np.repeat(cy[mine], p.victims.repeats), generic.y])
                    c = p.victims
                    net = mode.wrap(model, classifier.ANATOMY, c)
                    record = {"mode": mode.name, "trainable_parameters":
                              trainable_parameters(net)}
                    gen = torch_generator(p.base.seed, f"{domain.seed_prefix}-victim", v)
                    if c.dp.enabled:
                        record["dp"] = train_private(
                            net, (torch.from_numpy(x), torch.from_numpy(y)),
                            classifier.example_losses, c.epochs, c.batch_size, c.lr, c.dp, gen,
                            s.device).record()
                    else:
                        classifier.fit(net, x, y, c.epochs, c.batch_size, c.lr, gen, s.device)
                    model = mode.unwrap(net)
                    classifier.save(model, config, d, fp, record)
                stats["trainable_parameters"].append(record["trainable_parameters"])
                if "dp" in record:  # the accountant's ε: the mean is every victim's (same recipe)
                    stats.setdefault("epsilon_spent", []).append(record["dp"]["epsilon_spent"])
                loss, acc = classifier.loss_and_accuracy(model, held.x, held.y, s.device)
                stats["heldout_loss"].append(loss)
                stats["heldout_accuracy"].append(acc)
                stats["target_loss"].append(classifier.loss_and_accuracy(
                    model, cx[is_target], cy[is_target], s.device)[0])
            for k, vals in stats.items():
                s.metrics[f"{arm}.victim_{k}"] = float(np.mean(vals))


if __name__ == "__main__":
    main()
