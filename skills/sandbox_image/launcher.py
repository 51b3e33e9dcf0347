"""PID 1 of every sandbox container: wait for exactly one job on stdin, run it, exit.

A warm container sits here with its interpreter already started. The job is one JSON line:
{"name": ..., "source": ..., "job": {...}, "end": ...}. The skill's source runs as __main__ with
the job as its standard input and writes its JSON result to standard output. Then the launcher
writes the `end` marker and a trailer with the skill's exit code and whether the kernel killed
anything in this container for lack of memory, so the host has the whole outcome without waiting
for the container to be torn down.
"""

import io
import json
import subprocess  # noqa: F401  (imported while idle so skills start warm)
import sys
import traceback

OOM_COUNTERS = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")


def oom_kills():
    for path in OOM_COUNTERS:
        try:
            with open(path) as counters:
                lines = counters.read().splitlines()
        except OSError:
            continue
        for line in lines:
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
    return None


def run(request):
    sys.stdin = io.TextIOWrapper(io.BytesIO(json.dumps(request["job"]).encode()), encoding="utf-8")
    code = compile(request["source"], request["name"], "exec")
    try:
        exec(code, {"__name__": "__main__", "__file__": request["name"], "__builtins__": __builtins__})  # noqa: S102
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main():
    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    request = json.loads(line)
    before = oom_kills()
    exit_code = run(request)
    after = oom_kills()
    trailer = {"exit": exit_code, "oom": before is not None and after != before}
    # A skill that closed its standard output gets no trailer; the host then waits for the exit.
    try:
        sys.stdout.flush()
        sys.__stdout__.write("\n" + request["end"] + json.dumps(trailer) + "\n")
        sys.__stdout__.flush()
    except (OSError, ValueError):
        pass
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
