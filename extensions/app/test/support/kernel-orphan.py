"""Starts a kernel the way Insighter Lab does (ParentBoundKernelManager) in a
process that is then killed with SIGKILL, under a subreaper (as systemd user
sessions and container inits are), so ipykernel's own check for a parent
replaced by pid 1 never fires. Prints how the kernel ended, as JSON:
{"kernel": pid, "state": "gone" | "Z" (ended) | other (still running), "seconds": …}.

    PYTHONPATH=jupyter-config /usr/bin/python3 kernel-orphan.py
"""
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL("libc.so.6").prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

STARTER = """
import asyncio, time
from insighter_lab.lifecycle import ParentBoundKernelManager

async def main():
    manager = ParentBoundKernelManager(kernel_name="python3")
    await manager.start_kernel()
    print(manager.provisioner.process.pid, flush=True)
    time.sleep(600)

asyncio.run(main())
"""

starter = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
kernel = int(starter.stdout.readline())
time.sleep(1)
starter.kill()
starter.wait()
killed = time.monotonic()
state = "?"
while time.monotonic() - killed < 5:
    try:
        with open(f"/proc/{kernel}/stat", encoding="utf-8") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    if state in ("Z", "gone"):
        break
    time.sleep(0.02)
print(json.dumps({"kernel": kernel, "state": state, "seconds": time.monotonic() - killed}))
try:
    os.kill(kernel, signal.SIGKILL)
except ProcessLookupError:
    pass
