"""What every audit's params share: strict sections, the audit root, the sections common to
every audit (base, evaluate, tracking), and loading with errors that name the dotted key and
what is allowed, e.g. ``params.yaml: finetune.mode: got 'deep'; allowed: 'linear_probe', …``.

Each audit family declares its own sections beside its code (``leakaudit.tmi.params``,
``leakaudit.backdoor.config``)."""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

M = typing.TypeVar("M", bound=BaseModel)


class ParamsError(ValueError):
    """Raised when params.yaml is malformed; the message names key and allowed values."""


@dataclass(frozen=True)
class Rule:
    """A cross-check between sections, declared beside the params it constrains
    (:attr:`AuditParams.RULES`): ``ok(params)`` must hold, else the error names ``key``, the
    value there (or ``got(params)``) and ``allowed(params)`` — the shape of a single field's
    error."""

    key: str
    ok: Callable[[Any], bool]
    allowed: Callable[[Any], str]
    got: Callable[[Any], Any] | None = None

    def check(self, params: Any) -> None:
        """Raise ``ValueError`` unless the rule holds for ``params``."""
        if self.ok(params):
            return
        got = params
        for part in self.key.split("."):
            got = getattr(got, part)
        got = self.got(params) if self.got else got
        raise ValueError(f"{self.key}: got {got}; allowed: {self.allowed(params)}")


class Section(BaseModel):
    """Base of every params section: strict about unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump_used(self, keys: typing.Iterable[str], plugin: str = "") -> dict[str, Any]:
        """The values of ``keys`` (what a model built from this section reads: its
        fingerprint); with ``plugin`` (your own code as an import path) every key, since your
        code may read any."""
        return self.model_dump() if ":" in plugin else self.model_dump(include=set(keys))


class AuditParams(Section):
    """Root of every audit's params (TMI, privacy backdoors): one section per stage, and
    :meth:`audit_id`, the fingerprint that tags its outputs and its MLflow runs."""

    # sections that never change an audit's results
    NOT_AUDITED: typing.ClassVar[frozenset[str]] = frozenset({"tracking", "execution"})
    # cross-checks between sections; a subclass's rules run after its bases'
    RULES: typing.ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _rules(self) -> typing.Self:
        for cls in reversed(type(self).__mro__):
            for rule in vars(cls).get("RULES", ()):
                rule.check(self)
        return self

    def audit_id(self) -> str:
        """A stable hash of every section except :attr:`NOT_AUDITED`."""
        keep = set(type(self).model_fields) - self.NOT_AUDITED
        return params_hash(self.model_dump(include=keep))

    @classmethod
    def load(cls, path: str | Path) -> typing.Self:
        """Load and validate a params file (:class:`ParamsError` names every bad key)."""
        return load_model(path, cls)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None, source: str = "params.yaml") -> typing.Self:
        """Validate a raw params mapping; :class:`ParamsError` names every bad key."""
        try:
            return cls.model_validate(raw or {})
        except ValidationError as err:
            raise ParamsError(format_errors(err, source, cls)) from None

    def pick(self, keys: typing.Iterable[str]) -> dict[str, Any]:
        """The values of ``keys`` (sections or dotted keys, e.g. ``execution.executor``) as one
        nested mapping: what a stage reads, for its record and its DVC params."""
        out: dict[str, Any] = {}
        for key in keys:
            *path, last = key.split(".")
            value: Any = self
            node = out
            for part in path:
                value = getattr(value, part)
                node = node.setdefault(part, {})
            value = getattr(value, last)
            node[last] = value.model_dump() if isinstance(value, BaseModel) else value
        return out


class BaseParams(Section):
    seed: int = Field(0, ge=0, description="root seed; every random choice derives from it "
                      "(the TMI audit sets it per replicate from replicates.seeds)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = Field(2, ge=1, le=256, description="torch intra-op threads")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: mixed-precision autocast in training loops (for GPUs)"
    )


class EvaluateParams(Section):
    """How every audit states its results (docs/statistics.md)."""

    fpr_targets: list[float] = Field(default_factory=lambda: [0.01, 0.001])
    bootstrap: int = Field(1000, ge=10, description="two-way cluster / hierarchical resamples")
    confidence: float = Field(0.95, gt=0.0, lt=1.0)


class DpParams(Section):
    """DP-SGD finetuning (Opacus): per-example clipping, noise calibrated by the accountant to
    the target (ε, δ)."""

    enabled: bool = False
    epsilon: float = Field(8.0, gt=0.0, description="target ε (Opacus picks the noise)")
    delta: float = Field(1e-5, gt=0.0, lt=1.0)
    max_grad_norm: float = Field(5.0, gt=0.0, description="per-sample clipping norm")
    accountant: Literal["prv", "rdp", "gdp"] = "prv"


class TrackingParams(Section):
    enabled: bool = True
    uri: str = "sqlite:///mlflow.db"
    experiment: str = "tmi"
    log_weights: bool = Field(True, description="log the victim's finetuned safetensors")
    timeout_s: float = Field(5.0, gt=0.0, description="per request to a tracking server")
    retries: int = Field(1, ge=0, le=10, description="retries per request to a tracking server")
    required: bool = Field(
        False, description="true: an unreachable tracking store fails the audit at once; false: "
        "the audit completes, records the failure, and `python -m leakaudit.tmi.tracking replay` "
        "logs it later"
    )


def params_hash(obj: Any) -> str:
    """Stable short hash of JSON-able params (audit ids, completion fingerprints)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _allowed(model: type[BaseModel], path: tuple[Any, ...]) -> str:
    """Describe what is allowed at ``path`` inside ``model``."""
    current: Any = model
    for part in path[:-1]:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return ""
        current = field.annotation
    last = path[-1] if path else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        field = current.model_fields.get(last) if isinstance(last, str) else None
        if field is None:
            return "allowed keys: " + ", ".join(current.model_fields)
        ann = field.annotation
        if typing.get_origin(ann) is Literal:
            return "allowed: " + ", ".join(repr(a) for a in typing.get_args(ann))
        constraints = [
            f"{k} {getattr(m, k)}"
            for m in field.metadata
            for k in ("ge", "gt", "le", "lt")
            if getattr(m, k, None) is not None
        ]
        return "allowed: " + (getattr(ann, "__name__", str(ann)) + " " + " ".join(constraints))
    return ""


def format_errors(err: ValidationError, source: str, root: type[BaseModel]) -> str:
    """Every validation error of ``root`` as one line naming the dotted key and what is allowed."""
    lines = []
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        key = ".".join(str(x) for x in loc) or "<root>"
        if e["type"] == "extra_forbidden":
            lines.append(f"{source}: {key}: unknown key; {_allowed(root, loc)}")
        elif e["type"] == "value_error":
            lines.append(f"{source}: {e['msg'].removeprefix('Value error, ')}")
        else:
            got = e.get("input")
            hint = _allowed(root, loc)
            lines.append(f"{source}: {key}: {e['msg']} (got {got!r}){'; ' + hint if hint else ''}")
    return "\n".join(lines)


def load_model(path: str | Path, model: type[M]) -> M:
    """Load a params file and validate it as ``model``; :class:`ParamsError` names bad keys."""
    path = Path(path)
    with path.open() as fh:
        raw = yaml.safe_load(fh)
    if raw is not None and not isinstance(raw, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    try:
        return model.model_validate(raw or {})
    except ValidationError as err:
        raise ParamsError(format_errors(err, str(path), model)) from None

