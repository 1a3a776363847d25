"""Stage `report` of every pipeline (``--pipeline <name>``): the audit's self-contained HTML
report (:mod:`leakaudit.html_report`), then attached to the audit's MLflow run when tracking is
on (after the file is written: a tracking outage loses nothing)."""

from pathlib import Path

from leakaudit.html_report import write_report
from leakaudit.layout import OUT
from leakaudit.tracking import attach_to_run
from tasks._stage import stage

SECTIONS = ("tracking",)


def main() -> None:
    with stage("report", SECTIONS, torch=False) as s:
        path = write_report(s.pipeline, Path("."))
        s.timings["tracking"] = attach_to_run(s.params.tracking, OUT / "evaluate/mlflow.json",
                                              path)
        print(f"report: {path.resolve()}")


if __name__ == "__main__":
    main()
