"""Stage `params` of every pipeline (``--pipeline <name>``): validate the whole params file —
every section, key and cross-check — before any other stage runs (every stage depends on its
marker), so a typo fails at once and no output is removed. The marker's content is constant:
downstream stages never rerun for it."""

from leakaudit.core.params import ParamsError
from tasks._stage import stage

MARKER = "params_ok"


def main() -> None:
    try:
        with stage("params") as s:
            path = s.path(MARKER)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("params valid\n")
    except ParamsError as err:
        raise SystemExit(str(err)) from None


if __name__ == "__main__":
    main()
