"""Stage `lm-pretrain`: the benign base model — a tiny GPT-2 pretrained here on generic text
plus synthetic PII (so it knows the format), or the user's own checkpoint (safetensors only)."""

import torch

from leakaudit.backdoor.corpus import generic_splits
from leakaudit.backdoor.lm import (
    cycle_batches,
    encode,
    lm_loss,
    load_lm,
    mean_loss,
    save_lm_done,
    train_tokenizer,
)
from leakaudit.backdoor.model import tiny_gpt2
from leakaudit.backdoor.targets import candidate_pool
from leakaudit.seeds import seed_int, torch_generator
from tasks.backdoor._common import MODELS, stage

SECTIONS = ("base", "corpus", "lm", "lm_pretrain")


def main() -> None:
    with stage("lm-pretrain", SECTIONS) as s:
        p = s.params
        parts = generic_splits(p.corpus, p.base.seed)
        if p.lm.checkpoint:
            model, tok = load_lm(p.lm.checkpoint)
        else:
            pii = candidate_pool(p.corpus.pretrain_pii, p.base.seed, p.targets.locale,
                                 purpose="pii-pretrain").text.tolist()
            texts = parts["pretrain"] + pii
            tok = train_tokenizer(texts, p.lm.vocab_size)
            torch.manual_seed(seed_int(p.base.seed, "lm-init"))
            model = tiny_gpt2(tok.get_vocab_size(), p.lm.context, p.lm.layers, p.lm.dim,
                              p.lm.heads)
            ids, att = encode(tok, texts, p.lm.context)
            opt = torch.optim.AdamW(model.parameters(), lr=p.lm_pretrain.lr, weight_decay=0.0)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, p.lm_pretrain.steps))
            model.train()
            it = cycle_batches(len(ids), p.lm_pretrain.batch_size,
                               torch_generator(p.base.seed, "lm-pretrain"))
            for _ in range(p.lm_pretrain.steps):
                idx = next(it)
                loss = lm_loss(model, ids[idx], att[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            s.metrics["final_train_loss"] = float(loss) if p.lm_pretrain.steps else float("nan")
        held = encode(tok, parts["heldout"], p.lm.context)
        s.metrics["heldout_loss"] = mean_loss(model, *held)
        save_lm_done(model, tok, MODELS / "base", s.audit_id)


if __name__ == "__main__":
    main()
