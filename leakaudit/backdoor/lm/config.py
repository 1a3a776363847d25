"""Validated params of the language-model privacy-backdoor audit (``backdoor/params.yaml``): the
shared sections (:mod:`leakaudit.backdoor.config`) plus its corpus, model and scores."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from leakaudit.backdoor.config import (
    BackdoorAuditParams,
    GenericSplits,
    PretrainLoopParams,
    ScoreParams,
)
from leakaudit.core.params import Rule, Section, TrackingParams, load_model


class CorpusParams(GenericSplits):
    """Generic text (WordNet glosses, offline; the parts count glosses) and the synthetic PII
    the LM learns the format of."""

    wordnet_path: str = "/usr/share/wordnet"
    pretrain_pii: int = Field(2000, ge=0, description="faker sentences in pretraining")


class LmParams(Section):
    """The released model: a tiny GPT-2 from a config, or your own checkpoint."""

    checkpoint: str | None = Field(
        None, description="a save_pretrained directory (or hub name online); None = pretrain"
    )
    vocab_size: int = Field(2048, ge=300)
    context: int = Field(64, ge=8)
    layers: int = Field(4, ge=1)
    dim: int = Field(128, ge=8)
    heads: int = Field(4, ge=1)


class LmPretrainParams(PretrainLoopParams):
    steps: int = Field(1000, ge=0)


class LmScoreParams(ScoreParams):
    min_k: float = Field(0.1, gt=0.0, le=1.0)
    watermark_delta: float = Field(2.0, ge=0.0)
    watermark_gamma: float = Field(0.5, gt=0.0, lt=1.0)


class BackdoorParams(BackdoorAuditParams):
    """The language-model audit (``backdoor/params.yaml``)."""

    corpus: CorpusParams = CorpusParams()
    lm: LmParams = LmParams()
    lm_pretrain: LmPretrainParams = LmPretrainParams()
    score: LmScoreParams = LmScoreParams()
    tracking: TrackingParams = TrackingParams(experiment="privacy-backdoor")

    RULES = (Rule("lm.heads", lambda p: not p.lm.dim % p.lm.heads,
                  lambda p: f"a divisor of lm.dim ({p.lm.dim})"),)


def load_backdoor_params(path: str | Path = "params.yaml") -> BackdoorParams:
    """Load and validate the backdoor audit's params."""
    return load_model(path, BackdoorParams)


if __name__ == "__main__":
    import yaml

    print(yaml.safe_dump(BackdoorParams().model_dump(), sort_keys=False), end="")
