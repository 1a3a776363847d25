"""Forward everything written to file descriptors 1 and 2 — including by child processes such as
DVC's stage commands — line by line to a callback, while still echoing it to the console."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def forward_output(emit: Callable[[str], None]) -> Iterator[None]:
    """Redirect fds 1 and 2 into a pipe for the duration of the block; a pump thread echoes
    every line to the original stdout and passes it to ``emit``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                os.write(saved_out, raw)
                line = raw.decode(errors="replace").rstrip()
                # progress bars redraw with \r: keep only their final state
                line = line.rsplit("\r", 1)[-1].strip()
                if line:
                    emit(line)

    thread = threading.Thread(target=pump, name="forward-output", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)  # closes the pipe's last write ends: the pump sees EOF
        os.dup2(saved_err, 2)
        thread.join(timeout=30)
        os.close(saved_out)
        os.close(saved_err)
