"""CI check: each pipeline's committed dvc.lock describes the committed code.

`dvc status` lists, per stage, dependencies whose content differs from the lock. A git-tracked
file among them means the lock is stale: a fresh clone's `dvc repro` would rerun those stages
(and everything downstream) instead of restoring them. Missing outputs (a fresh clone has none)
are not a failure.

    python scripts/check_lock.py [dvc.yaml backdoor/dvc.yaml ...]
"""

from __future__ import annotations

import json
import subprocess
import sys


def stale_deps(target: str = "dvc.yaml") -> dict[str, list[str]]:
    """Stage → git-tracked dependencies that changed against the lock."""
    out = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", target],
                         capture_output=True, text=True, check=True).stdout
    tracked = set(subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                                 check=True).stdout.split())
    stale: dict[str, list[str]] = {}
    for stage, changes in json.loads(out or "{}").items():
        for change in changes:
            if not isinstance(change, dict):
                continue
            deps = change.get("changed deps", {})
            paths = [p for p, how in deps.items() if how == "modified" and
                     (p in tracked or any(t.startswith(p.rstrip("/") + "/") for t in tracked))]
            if paths:
                stale[stage] = paths
    return stale


def main() -> None:
    failed = []
    for target in sys.argv[1:] or ["dvc.yaml"]:
        stale = stale_deps(target)
        if stale:
            lines = "\n".join(f"  {s}: {', '.join(p)}" for s, p in stale.items())
            failed.append(f"{target}: dvc.lock is stale against the committed code:\n{lines}")
        else:
            print(f"{target}: dvc.lock matches the committed code")
    if failed:
        sys.exit("\n".join(failed) + "\nrerun those stages (`dvc repro` in the pipeline's "
                 "folder) and commit its dvc.lock and metrics.json")


if __name__ == "__main__":
    main()
