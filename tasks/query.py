"""Stage `query`: aligned views of every challenge point through every model → signals.

`signals_finetuned` is what the black-box adversary sees; `signals_pretrained` (the upstream
head) feeds only the white-box upper bound.
"""

import pandas as pd

from leakaudit.core import store
from leakaudit.core.seeds import torch_generator
from leakaudit.tmi import fleet
from leakaudit.tmi.data import load_source
from leakaudit.tmi.data.splits import population
from leakaudit.tmi.models import build_model
from leakaudit.tmi.querying import make_views, query_fleet
from tasks._stage import stage


def main() -> None:
    with stage("query") as s:
        p = s.params
        data = load_source(p)
        points, members = s.read("points"), s.read("membership")
        # the challenge points, then RMIA's population points (no model trained on them),
        # each queried with views of its own seed (population points move no challenge signal)
        parts = [(points[points.challenge].sort_values("point_id"), "query-views"),
                 (population(points, p.query.n_population), "query-population-views")]
        views = [(part.point_id.to_numpy(), make_views(
            data.up_x[part.source_index.to_numpy()], p.query,
            torch_generator(p.base.seed, purpose))) for part, purpose in parts]
        model_ids = sorted(members.model_id.unique().tolist())

        def loader(kind: str, n_classes: int):
            def load(m: int):
                directory = store.model_dir(s.path(f"{kind}_models"), m)
                if kind == "finetune":
                    return fleet.load_finetuned(p, data, directory).to(s.device)
                model = build_model(p.model, data.image_shape, n_classes, data.vocab_size)
                model.load_state_dict(store.load_model_state(directory))
                return model.to(s.device)
            return load

        tables = {}  # both computed before either is written
        for kind, n_classes, name in (("finetune", data.n_down_classes, "finetuned"),
                                      ("pretrain", data.n_up_classes, "pretrained")):
            # the restriction applies to the deployed (finetuned) model's API only
            top_k = p.query.top_k if kind == "finetune" else 0
            tables[name] = pd.concat([
                query_fleet(model_ids, loader(kind, n_classes), v, ids, p.query.batch_size,
                            top_k) for ids, v in views], ignore_index=True)
        for name, table in tables.items():
            s.write("signals", table, view=name)
        s.metrics |= {"n_rows": len(tables["finetuned"])}


if __name__ == "__main__":
    main()
