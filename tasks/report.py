"""Stage `report` of every pipeline (``--pipeline <name>``): the audit's self-contained HTML
report (:mod:`leakaudit.core.html_report`), then attached to the audit's MLflow run when tracking is
on (after the file is written: a tracking outage loses nothing)."""

from pathlib import Path

from leakaudit.core.html_report import write_report
from leakaudit.core.tracking import MLFLOW_IDS, attach_to_run
from tasks._stage import stage


def main() -> None:
    with stage("report") as s:
        path = write_report(s.pipeline, Path("."))
        s.timings["tracking"] = attach_to_run(s.params.tracking, MLFLOW_IDS,
                                              path)
        print(f"report: {path.resolve()}")


if __name__ == "__main__":
    main()
