"""The TMI audit's params (``params.yaml``): one validated section per stage, unknown keys
rejected with the dotted key and what is allowed; the cross-checks between sections run when the
file is loaded, so the ``params`` stage fails before any other stage starts. Each attack's own
settings live beside it (:mod:`leakaudit.tmi.attacks`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, create_model, model_validator

from leakaudit.core.params import (
    AuditParams,
    BaseParams,
    DpParams,
    EvaluateParams,
    ParamsError,
    Rule,
    Section,
    TrackingParams,
    load_model,
)
from leakaudit.core.plugins import BuiltinOrPlugin
from leakaudit.tmi.attacks.registry import ATTACKS, AttackName, settings_fields

MIN_GAIN = 0.15  # evaluate.min_downstream_gain's default


class DigitsParams(Section):
    noise_std: float = Field(0.3, ge=0.0, description="fixed per-sample Gaussian noise")


class FashionMnistParams(Section):
    path: str = "/usr/share/datasets/fashion-mnist"
    noise_std: float = Field(0.0, ge=0.0)
    downstream: Literal["group4", "mod5"] = "group4"


class HuggingFaceParams(Section):
    name: str = "uoft-cs/cifar100"
    load_from_disk: str | None = Field(
        None, description="a directory written by Dataset(Dict).save_to_disk (offline)"
    )
    image_column: str = "img"
    text_column: str = Field("text", description="data.modality text: the text column")
    upstream_split: str = "train"
    upstream_label: str = "fine_label"
    downstream_name: str | None = Field(
        None, description="another dataset for the downstream task (e.g. uoft-cs/cifar10)"
    )
    downstream_load_from_disk: str | None = None
    downstream_split: str = "test"
    downstream_label: str = "coarse_label"
    downstream_image_column: str | None = None


class WordNetParams(Section):
    path: str = "/usr/share/wordnet"


class TextParams(Section):
    """Tokenisation for every text source."""

    max_len: int = Field(32, ge=4, le=512, description="tokens per text (truncate / pad)")
    tokenizer: str = Field(
        "bpe", description="'bpe' (trained here), 'bytes', or an AutoTokenizer name / directory"
    )
    vocab_size: int = Field(2000, ge=300, description="bpe: vocabulary size")


IMAGE_SOURCES = ("digits", "fashion-mnist", "huggingface")
TEXT_SOURCES = ("wordnet", "huggingface")
BUILTIN_SOURCES = tuple(dict.fromkeys(IMAGE_SOURCES + TEXT_SOURCES))
ARCH_KEYS = {  # the model keys each built-in architecture reads (leakaudit.tmi.models.builder)
    "mlp": ("hidden",), "cnn": ("hidden",), "resnet": ("hidden", "resnet_blocks"),
    "transformer": ("hidden", "layers", "heads", "pretrained")}
BUILTIN_ARCHS = tuple(ARCH_KEYS)


class DataParams(Section):
    modality: Literal["image", "text"] = "image"
    source: BuiltinOrPlugin("data.source", BUILTIN_SOURCES) = Field(
        "digits", description="a built-in source, or your loader as 'package.module:load' "
        "(leakaudit.core.plugins)")
    digits: DigitsParams = DigitsParams()
    fashion_mnist: FashionMnistParams = FashionMnistParams()
    huggingface: HuggingFaceParams = HuggingFaceParams()
    wordnet: WordNetParams = WordNetParams()
    text: TextParams = TextParams()
    options: dict[str, Any] = Field(
        default_factory=dict, description="free-form settings for your own source "
        "(data.source as an import path); it reads them from params.data.options")

    def used(self) -> dict[str, Any]:
        """The keys that decide the data a model trains on (its fingerprint): the modality,
        the source and its own section, the tokenisation for text; your own loader may read
        any key, so all of them count for it."""
        text = ("text",) if self.modality == "text" else ()
        return self.dump_used(("modality", "source", self.source.replace("-", "_"), *text),
                              self.source)


class ModelParams(Section):
    arch: BuiltinOrPlugin("model.arch", BUILTIN_ARCHS) = Field(
        "mlp", description="a built-in backbone, or your factory as 'package.module:backbone' "
        "(leakaudit.core.plugins)")
    hidden: int = Field(256, ge=1, description="mlp hidden width / cnn channels / d_model")
    feature_dim: int = Field(16, ge=1, description="width of the feature layer under the head")
    resnet_blocks: list[int] = Field(default_factory=lambda: [2, 2, 2, 2])
    layers: int = Field(2, ge=1, description="transformer: encoder layers")
    heads: int = Field(2, ge=1, description="transformer: attention heads (divide hidden)")
    share_init: bool = Field(
        False, description="all models share one backbone init (the reference's side effect)"
    )
    pretrained: str | None = Field(
        None, description="transformer: a save_pretrained directory (or, online, a hub name) of "
        "a BERT-style encoder every model starts from, safetensors only; its config sets the "
        "width, depth and heads (hidden / layers / heads are ignored)")

    def used(self) -> dict[str, Any]:
        """The keys that decide a model built from these params (its fingerprint): those of
        its architecture; your own factory may read any key, so all of them count for it."""
        return self.dump_used(("arch", "feature_dim", "share_init",
                               *ARCH_KEYS.get(self.arch, ())), self.arch)


class PrepareParams(Section):
    n_models: int = Field(64, ge=4, description="shadow + victim models (M), an even number")
    n_pool: int = Field(200, ge=4, description="pretraining pool; each model trains on half")
    n_challenge: int = Field(200, ge=1, description="challenge points drawn from the pool (T)")
    n_pretrain_test: int = Field(200, ge=1, description="held-out upstream images")
    n_finetune_pool: int = Field(0, ge=0, description="finetuning pool size; 0 = all left")
    n_finetune_test: int = Field(300, ge=1, description="held-out downstream images")
    finetune_fraction: float = Field(0.85, gt=0.0, le=1.0)
    balance_classes: bool = Field(
        False, description="draw an equal number of points of every downstream class (and, when "
        "both share one collection, the pool and pretraining test set too)")


class Augment(Section):
    jitter_std: float = Field(0.05, ge=0.0, description="Gaussian pixel jitter")
    flip: bool = False
    crop_pad: int = Field(0, ge=0, description="random crop after reflect padding")
    token_mask: float = Field(
        0.0, ge=0.0, lt=1.0, description="text: each token replaced by [MASK] with this chance"
    )


class LoopParams(Section):
    """A training loop's length and optimiser (pretraining's defaults)."""

    epochs: int = Field(200, ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)


class PretrainParams(LoopParams):
    objective: Literal["supervised", "mlm"] = Field(
        "supervised", description="supervised on fine labels, or masked LM (text only)"
    )
    schedule: Literal["constant", "cosine"] = "cosine"
    augment: Augment = Augment()


class FinetuneParams(LoopParams):
    epochs: int = Field(30, ge=1)
    lr: float = Field(1e-2, gt=0.0)
    mode: Literal["linear_probe", "last_k", "full"] = "linear_probe"
    last_k: int = Field(1, ge=1, description="last_k mode: trainable backbone blocks from the top")
    batchnorm: Literal["adapt", "frozen"] = Field(
        "adapt", description="linear probe: BatchNorm statistics adapt (train mode) or stay frozen"
    )
    dp: DpParams = DpParams()
    schedule: Literal["constant", "cosine", "step"] = "constant"
    augment: Augment = Augment(jitter_std=0.0)


class QueryParams(Section):
    n_views: int = Field(8, ge=1, description="aligned views per challenge point (A)")
    include_clean: bool = Field(True, description="view 0 is the unaugmented image")
    augment: Augment = Augment()
    batch_size: int = Field(1024, ge=1)
    top_k: int = Field(
        0, ge=0, description="finetuned model reveals only its top-k probabilities (0 = all)"
    )
    n_population: int = Field(
        0, ge=0, description="RMIA's population points z, queried beside the challenge "
        "points: the first n held-out upstream points (0 = all prepare.n_pretrain_test)")


class _AttackStage(Section):
    """The attack stage: victims, shadows, null draws, views, which attacks run; then each
    attack's own settings section (``attack.tmi``, ``attack.lira``), derived from the registry."""

    n_victims: int = Field(16, ge=2, description="victims: a seeded choice of complementary pairs")
    n_shadows: int = Field(
        0, ge=0, description="shadows per victim and point: n/2 IN + n/2 OUT, seeded (0 = all "
        "models but the victim's pair)"
    )
    null_draws: int = Field(
        1, ge=0, description="null control: attacks rerun on independent random labels"
    )
    structured_draws: int = Field(
        1, ge=0, description="structured null: attacks rerun on a fresh balanced mask (the "
        "real masks' pairing and per-point balance, an independent seed): a leave-one-out or "
        "mirror channel between a victim and its partner shows up here, not in the "
        "independent null")
    n_views: int = Field(0, ge=0, description="use only the first n query views (0 = all)")
    attacks: list[AttackName] = Field(default_factory=lambda: list(ATTACKS))


AttackParams = create_model("AttackParams", __base__=_AttackStage, __module__=__name__,
                            **settings_fields())


class TmiEvaluateParams(EvaluateParams):
    """The shared evaluate section plus the TMI audit's utility warning."""

    min_downstream_gain: float = Field(
        MIN_GAIN, ge=0.0, le=1.0, description="warn when the finetuned models' held-out balanced "
        "accuracy is less than this above the majority baseline's (a model at chance)")
    strongest: AttackName = Field(
        "lira_diag", description="the audit's verdict row: the strongest attack its threat "
        "model allows (query access; never a white-box reference), fixed in advance on the "
        "tuning seed by the rule in docs/results.md (highest TPR@1%FPR, then AUC), never on "
        "the reported replicates")


class ExecutionParams(Section):
    """Where the pretrain and finetune fleets train. Sequential, threads, processes and Dask
    give bit-identical models, so switching among them never retrains anything. ``batched``
    (pretraining only; finetuning then runs sequentially) trains ``group_size`` models as one
    vmapped stacked model: equal up to float reassociation, so it enters the pretrain
    fingerprints and switching to or from it retrains."""

    executor: Literal["sequential", "threads", "processes", "dask", "batched"] = "sequential"
    group_size: int = Field(16, ge=1, description="batched: models trained at once")
    workers: int = Field(2, ge=1, description="threads / processes / local Dask workers")
    dask_address: str | None = Field(
        None, description="an existing Dask scheduler (tcp://host:8786); None starts a local one"
    )
    threads_per_worker: int = Field(1, ge=1, description="torch threads in each parallel worker")


def _sources(p: Params) -> tuple[str, ...]:
    return TEXT_SOURCES if p.data.modality == "text" else IMAGE_SOURCES


class ReplicatesParams(Section):
    """Independent replicates of the whole audit: each seed draws its own roles, challenge
    points, masks, inits, finetune subsets, views, victims and null labels."""

    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1,
                             description="one replicate per seed (seed 0 tuned the defaults)")

    @model_validator(mode="after")
    def _unique(self) -> ReplicatesParams:
        if len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"replicates.seeds: got {self.seeds}; allowed: distinct integers ≥ 0")
        return self


class Params(AuditParams):
    """The TMI audit's params (``params.yaml``)."""

    replicates: ReplicatesParams = ReplicatesParams()
    base: BaseParams = BaseParams()
    data: DataParams = DataParams()
    model: ModelParams = ModelParams()
    prepare: PrepareParams = PrepareParams()
    pretrain: PretrainParams = PretrainParams()
    finetune: FinetuneParams = FinetuneParams()
    query: QueryParams = QueryParams()
    attack: AttackParams = AttackParams()
    evaluate: TmiEvaluateParams = TmiEvaluateParams()
    execution: ExecutionParams = ExecutionParams()
    tracking: TrackingParams = TrackingParams()

    RULES = (
        Rule("prepare.n_models", lambda p: not p.prepare.n_models % 2,
             lambda p: "an even number ≥ 2"),
        Rule("prepare.n_challenge", lambda p: p.prepare.n_challenge <= p.prepare.n_pool,
             lambda p: f"≤ prepare.n_pool ({p.prepare.n_pool})"),
        Rule("data.source", lambda p: p.data.source in _sources(p) or ":" in p.data.source,
             lambda p: ", ".join(map(repr, _sources(p))) + ", or 'package.module:load'",
             lambda p: f"{p.data.source!r} with data.modality {p.data.modality!r}"),
        Rule("model.arch", lambda p: ":" in p.model.arch
             or (p.data.modality == "text") == (p.model.arch == "transformer"),
             lambda p: ("'transformer'" if p.data.modality == "text" else "'mlp', 'cnn', "
                        "'resnet'") + ", or 'package.module:backbone'",
             lambda p: f"{p.model.arch!r} with data.modality {p.data.modality!r}"),
        Rule("model.heads", lambda p: p.model.arch != "transformer" or bool(p.model.pretrained)
             or not p.model.hidden % p.model.heads,
             lambda p: f"a divisor of model.hidden ({p.model.hidden})"),
        Rule("model.pretrained", lambda p: p.model.pretrained is None or (
            p.model.arch == "transformer" and p.data.modality == "text"
            and p.data.text.tokenizer == p.model.pretrained),
             lambda p: "null, or with model.arch 'transformer' the same directory / name as "
             "data.text.tokenizer (the encoder's own tokenizer)",
             lambda p: f"{p.model.pretrained!r} with model.arch {p.model.arch!r} and "
             f"data.text.tokenizer {p.data.text.tokenizer!r}"),
        Rule("pretrain.objective", lambda p: p.pretrain.objective != "mlm"
             or p.model.arch == "transformer",
             lambda p: "'supervised' (masked LM needs data.modality: text)",
             lambda p: f"'mlm' with model.arch {p.model.arch!r}"),
        Rule("execution.executor", lambda p: p.execution.executor != "batched" or (
            p.model.arch == "mlp" and p.pretrain.optimizer == "adam"),
             lambda p: "'sequential', 'threads', 'processes', 'dask' ('batched' needs "
             "model.arch 'mlp' and pretrain.optimizer 'adam')",
             lambda p: f"'batched' with model.arch {p.model.arch!r} and pretrain.optimizer "
             f"{p.pretrain.optimizer!r}"),
        Rule("attack.n_victims", lambda p: not p.attack.n_victims % 2
             and p.attack.n_victims <= p.prepare.n_models,
             lambda p: f"an even number ≤ prepare.n_models ({p.prepare.n_models}) (victims "
             "are whole pairs)"),
        Rule("attack.n_shadows", lambda p: not p.attack.n_shadows or (
            not p.attack.n_shadows % 2 and 4 <= p.attack.n_shadows <= p.prepare.n_models - 2),
             lambda p: "0 (all) or an even number from 4 to prepare.n_models − 2 "
             f"({p.prepare.n_models - 2})"),
        Rule("attack.n_views", lambda p: p.attack.n_views <= p.query.n_views,
             lambda p: f"0 (all) or ≤ query.n_views ({p.query.n_views})"),
        Rule("evaluate.strongest", lambda p: p.evaluate.strongest in p.attack.attacks
             and not ATTACKS[p.evaluate.strongest].white_box,
             lambda p: "a query-access attack among attack.attacks: " + ", ".join(
                 repr(a) for a in p.attack.attacks if not ATTACKS[a].white_box)),
        Rule("query.n_population", lambda p: p.query.n_population <= p.prepare.n_pretrain_test,
             lambda p: f"0 (all) or ≤ prepare.n_pretrain_test ({p.prepare.n_pretrain_test})"),
    )

    @classmethod
    def load(cls, path: str | Path) -> Params:
        """Load ``params.yaml``; its ``base.seed`` must stay unset (set per replicate)."""
        return load_params(path)

    def for_replicate(self, seed: int) -> Params:
        """These params as one replicate: ``base.seed`` = ``seed`` (every random choice of the
        replicate derives from it) and ``replicates.seeds`` = [seed]."""
        return self.model_copy(update={
            "base": self.base.model_copy(update={"seed": seed}),
            "replicates": ReplicatesParams(seeds=[seed]),
        })



def parse_params(raw: dict[str, Any] | None, source: str = "params.yaml") -> Params:
    """Validate a raw params mapping; raise :class:`ParamsError` naming every bad key."""
    return Params.parse(raw, source)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and validate ``params.yaml``. Its ``base.seed`` must stay unset: each replicate's
    seed comes from ``replicates.seeds`` (:meth:`Params.for_replicate`)."""
    raw = yaml.safe_load(Path(path).read_text())
    if isinstance(raw, dict) and "seed" in (raw.get("base") or {}):
        raise ParamsError(f"{path}: base.seed: not a TMI audit key; the audit runs one replicate "
                          "per seed in replicates.seeds (e.g. replicates: {seeds: [1, 2, 3]})")
    return load_model(path, Params)


def dump_defaults() -> str:
    """The default params as YAML (every key explicit, so DVC tracks each one)."""
    return yaml.safe_dump(Params().model_dump(exclude={"base": {"seed"}}), sort_keys=False)


def main(argv: list[str] | None = None) -> None:
    """``python -m leakaudit.tmi.params``: print the defaults; ``--check PARAMS MARKER``: validate
    a params file (exit 1 with the dotted-key message) and, if valid, write the constant marker
    the audit's first stage produces (constant content: downstream stages never rerun for it).
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["--check"]:
        print(dump_defaults(), end="")
        return
    params_file, marker = args[1], Path(args[2]) if len(args) > 2 else None
    try:
        load_params(params_file)
    except ParamsError as err:
        sys.exit(str(err))
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("params valid\n")
    print(f"{params_file}: valid")


if __name__ == "__main__":
    main()
