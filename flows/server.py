"""A local Prefect server for the duration of a block (benchmarks and the deployment test):
loopback only, its own PREFECT_HOME, stopped with its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def prefect_server(home: Path, port: int = 4291, env: dict[str, str] | None = None
                   ) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1:``port``; yield its API URL once healthy."""
    home.mkdir(parents=True, exist_ok=True)
    e = (env or dict(os.environ)) | {"PREFECT_HOME": str(home),
                                     "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    prefect = Path(sys.executable).parent / "prefect"
    proc = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port",
                             str(port)], env=e, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            raise RuntimeError("Prefect server did not become healthy in 120 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
