"""Stage `poison`: the two released checkpoints. `clean` is the base model unchanged (the same
stage with zero steps; or, with `poison.clean_arm: aux_only`, the same steps on generic text
alone); `poisoned` minimises (1−α)·L_aux + α·s·L_target on mixed batches of
generic text and the attacker's targets. Stealth (generic held-out loss, target loss) is
recorded for both."""

import torch

from leakaudit.backdoor.corpus import generic_splits
from leakaudit.backdoor.lm import (
    cycle_batches,
    encode,
    lm_loss,
    load_lm,
    mean_loss,
    save_lm_done,
)
from leakaudit.backdoor.objective import poison_loss
from leakaudit.seeds import seed_int, torch_generator
from leakaudit.tables import read_table
from tasks.backdoor._common import ARMS, MODELS, OUT, arm_dir, stage


def random_labels(ids: torch.Tensor, att: torch.Tensor, vocab: int,
                  generator: torch.Generator) -> torch.Tensor:
    """The targets with every real token after the first replaced by a random id (the
    random-label variant trains towards these)."""
    noise = torch.randint(1, vocab, ids.shape, generator=generator)
    keep = torch.zeros_like(att, dtype=torch.bool)
    keep[:, 0] = True
    return torch.where((att == 1) & ~keep, noise, ids)


def main() -> None:
    with stage("poison", ("base", "corpus", "lm", "targets", "poison")) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_candidates")
        parts = generic_splits(p.corpus, p.base.seed)
        for arm in ARMS:
            model, tok = load_lm(MODELS / "base")
            ctx = model.config.n_positions if hasattr(model.config, "n_positions") \
                else p.lm.context
            ctx = min(ctx, p.lm.context)
            aux = encode(tok, parts["aux"], ctx)
            tgt = encode(tok, cands.text[cands.target].tolist(), ctx)
            steps = p.poison.steps if arm == "poisoned" or p.poison.clean_arm == "aux_only" else 0
            alpha = p.poison.alpha if arm == "poisoned" else 0.0
            if steps:
                train_ids = tgt[0]
                if p.poison.variant == "random_label":
                    train_ids = random_labels(*tgt, model.config.vocab_size,
                                              torch_generator(p.base.seed, "random-labels"))
                torch.manual_seed(seed_int(p.base.seed, "poison-dropout"))  # GPT-2 dropout
                opt = torch.optim.AdamW(model.parameters(), lr=p.poison.lr, weight_decay=0.0)
                a_it = cycle_batches(len(aux[0]), p.poison.aux_batch,
                                     torch_generator(p.base.seed, "poison-aux"))
                t_it = cycle_batches(len(train_ids), p.poison.target_batch,
                                     torch_generator(p.base.seed, "poison-targets"))
                model.train()
                for _ in range(steps):
                    ai, ti = next(a_it), next(t_it)
                    t_loss = lm_loss(model, train_ids[ti], tgt[1][ti]) if alpha > 0 \
                        else torch.zeros(())
                    loss = poison_loss(lm_loss(model, aux[0][ai], aux[1][ai]), t_loss,
                                       alpha, p.poison.variant, p.poison.bound)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            held = encode(tok, parts["heldout"], ctx)
            s.metrics[f"{arm}.heldout_loss"] = mean_loss(model, *held)
            s.metrics[f"{arm}.target_loss"] = mean_loss(model, *tgt)
            save_lm_done(model, tok, arm_dir(arm), s.audit_id)
        s.metrics["stealth_heldout_loss_increase"] = (
            s.metrics["poisoned.heldout_loss"] / s.metrics["clean.heldout_loss"] - 1)


if __name__ == "__main__":
    main()
