"""Stage `victims`: K finetunes per arm from the same victim seeds. Victim v's private data:
its member candidates (balanced mask) repeated r times, mixed into generic text; full finetune
with AdamW and linear decay. Finished victims are kept (resume skips them)."""

import torch

from leakaudit.backdoor.corpus import generic_splits
from leakaudit.backdoor.lm import batches, encode, lm_loss, load_lm, mean_loss, save_lm_done
from leakaudit.fleet import fingerprint
from leakaudit.seeds import seed_int, torch_generator
from leakaudit.store import is_done, read_json
from leakaudit.tables import read_table
from tasks.backdoor._common import ARMS, OUT, arm_dir, stage, victim_dir


def main() -> None:
    with stage("victims", ("base", "corpus", "lm", "victims")) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_candidates")
        members = read_table(OUT / "targets/membership.parquet", "bd_membership")
        generic = generic_splits(p.corpus, p.base.seed)
        released = {arm: read_json(arm_dir(arm) / "DONE")["fingerprint"] for arm in ARMS}
        recipe = p.victims.model_dump()
        targets = cands.text[cands.target].tolist()
        for arm in ARMS:
            losses, target_losses = [], []
            for v in range(p.victims.n_victims):
                mine = members[(members.victim_id == v) & members.member].candidate_id
                texts = cands.set_index("candidate_id").text[mine].tolist() * p.victims.repeats
                texts += generic["victim"]
                fp = fingerprint(released[arm], recipe, sorted(mine.tolist()),
                                 p.corpus.model_dump(), p.base.seed, v)
                d = victim_dir(arm, v)
                model, tok = load_lm(arm_dir(arm) if not is_done(d, fp) else d)
                ctx = min(model.config.n_positions, p.lm.context)
                if not is_done(d, fp):
                    ids, att = encode(tok, texts, ctx)
                    gen = torch_generator(p.base.seed, "victim", v)  # same in both arms
                    torch.manual_seed(seed_int(p.base.seed, "victim-dropout", v))  # and dropout
                    n_steps = p.victims.epochs * -(-len(ids) // p.victims.batch_size)
                    opt = torch.optim.AdamW(model.parameters(), lr=p.victims.lr,
                                            weight_decay=0.0)
                    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, max(1, n_steps))
                    model.train()
                    for idx in batches(len(ids), p.victims.batch_size, gen, p.victims.epochs):
                        loss = lm_loss(model, ids[idx], att[idx])
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        sched.step()
                    save_lm_done(model, tok, d, fp)
                held = encode(tok, generic["heldout"], ctx)
                losses.append(mean_loss(model, *held))
                target_losses.append(mean_loss(model, *encode(tok, targets, ctx)))
            s.metrics[f"{arm}.victim_heldout_loss"] = sum(losses) / len(losses)
            s.metrics[f"{arm}.victim_target_loss"] = sum(target_losses) / len(target_losses)


if __name__ == "__main__":
    main()
