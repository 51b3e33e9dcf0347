"""PID 1 of every sandbox container: wait for exactly one job on stdin, run it, exit.

A warm container sits here with its interpreter already started. The job is one JSON line:
{"name": ..., "source": ..., "job": {...}}. The skill's source runs as __main__ with the job
as its standard input and writes its JSON result to standard output.
"""

import io
import json
import subprocess  # noqa: F401  (imported while idle so skills start warm)
import sys


def main():
    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    request = json.loads(line)
    sys.stdin = io.TextIOWrapper(io.BytesIO(json.dumps(request["job"]).encode()), encoding="utf-8")
    code = compile(request["source"], request["name"], "exec")
    exec(code, {"__name__": "__main__", "__file__": request["name"], "__builtins__": __builtins__})  # noqa: S102
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
