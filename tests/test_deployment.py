"""Prefect as a control panel: a served deployment on a local Prefect server, triggered with
parameters through the Prefect client as the UI's custom-run form would, runs a DVC
experiment and publishes its artifacts; bad parameters fail the run at once."""

import json
import os
import subprocess
import sys
import textwrap
import time

import yaml
from test_pipeline import BIN, _env, make_copy

from flows.server import prefect_server

TRIGGER = textwrap.dedent("""
    import asyncio, json, sys, time
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.deployments import run_deployment

    async def served():  # `--serve` registers the deployment shortly after it starts
        async with get_client() as client:
            for _ in range(180):
                try:
                    return await client.read_deployment_by_name("audit/tmi-audit")
                except Exception:
                    await asyncio.sleep(1)
        raise SystemExit("the deployment was not registered in 180 s")

    deployment = asyncio.run(served())
    run = run_deployment("audit/tmi-audit", parameters={"request": json.loads(sys.argv[1])},
                         timeout=900, poll_interval=2)

    async def artifacts():
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
            return [{"key": a.key, "type": a.type, "data": a.data} for a in found]

    print(json.dumps({"state": run.state.type.value, "message": run.state.message or "",
                      "crons": [getattr(s.schedule, "cron", None) for s in deployment.schedules],
                      "artifacts": asyncio.run(artifacts())}))
""")


def _trigger(request: dict, env: dict, cwd) -> dict:
    proc = subprocess.run([sys.executable, "-c", TRIGGER, json.dumps(request)], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=1000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_served_deployment_runs_a_parameterised_audit_as_an_experiment(tmp_path):
    repo = make_copy(tmp_path / "repo")
    with prefect_server(tmp_path / "prefect-home", port=4293, env=_env()) as url:
        env = _env() | {"PREFECT_API_URL": url, "PREFECT_HOME": str(tmp_path / "prefect-home")}
        served = subprocess.Popen([sys.executable, "-m", "flows.audit", "--serve", "--cron",
                                   "0 3 * * *"], cwd=repo, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            start = time.perf_counter()
            bad = _trigger({"overrides": ["finetune.mode=deep"]}, env, repo)
            assert bad["state"] == "FAILED"
            assert "--set finetune.mode: finetune.mode:" in bad["message"], bad["message"]
            assert "allowed: 'linear_probe', 'last_k', 'full'" in bad["message"]
            good = _trigger({"overrides": ["attack.tmi.epochs=3"], "name": "from-the-ui"},
                            env, repo)
            took = time.perf_counter() - start
        finally:
            os.killpg(served.pid, 15)
            served.wait(timeout=60)
    assert good["state"] == "COMPLETED", good["message"]
    assert good["crons"] == ["0 3 * * *"]  # served with its schedule
    kinds = {a["key"]: a for a in good["artifacts"]}
    table = kinds["tmi-experiment-metrics"]
    assert table["type"] == "table" and "tmi.auc" in json.dumps(table["data"])
    assert "reports/from-the-ui.html" in json.dumps(kinds["tmi-audit-report"]["data"])
    assert "<svg" in (repo / "reports/from-the-ui.html").read_text()  # the experiment's report
    assert "runs carry the tag `audit_id = '" in kinds["tmi-audit-mlflow"]["data"]
    shown = json.loads(subprocess.run(
        [str(BIN / "dvc"), "exp", "show", "--json"], cwd=repo, env=_env(), capture_output=True,
        text=True, check=True).stdout)
    runs = {rev.get("name"): rev["data"] for commit in shown
            for exp in commit.get("experiments") or [] for rev in exp.get("revs") or []}
    assert runs["from-the-ui"]["params"]["params.yaml"]["data"]["attack"]["tmi"]["epochs"] == 3
    # the checkout itself is untouched: the experiment ran in a temporary copy
    assert yaml.safe_load((repo / "params.yaml").read_text())["attack"]["tmi"]["epochs"] != 3
    print(f"deployment: bad run + tiny experiment end to end in {took:.0f} s")
