"""Stage `lm-pretrain`: the benign base model — a tiny GPT-2 pretrained here on generic text
plus synthetic PII (so it knows the format), or the user's own checkpoint (safetensors only)."""

import torch

from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.data import candidate_pool, generic_splits
from leakaudit.backdoor.lm.model import (
    context_of,
    encode,
    load_lm,
    mean_loss,
    save_lm_done,
    tiny_gpt2,
    train_tokenizer,
)
from leakaudit.core.seeds import seed_int
from tasks._stage import stage


def main() -> None:
    with stage("lm-pretrain") as s:
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
            s.metrics["final_train_loss"] = training.pretrain(model, ids, att, p.lm_pretrain,
                                                              p.base.seed)
        held = encode(tok, parts["heldout"], context_of(model, p.lm.context))
        s.metrics["heldout_loss"] = mean_loss(model, *held)
        save_lm_done(model, tok, s.path("base_model"), s.audit_id)


if __name__ == "__main__":
    main()
