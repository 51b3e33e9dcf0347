"""The python skill, inside the sandbox: run the given script with the given stdin and report its
stdout, stderr and exit code, each stream cut at the job's output limit (and flagged when cut)."""

import contextlib
import json
import os
import subprocess
import sys
import threading


def _capture(stream, limit, kept, flags, name):
    """Keep the first `limit` bytes of `stream`, then drain the rest so the script never blocks."""
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        room = limit - len(kept)
        if room > 0:
            kept += chunk[:room]
        if len(chunk) > max(room, 0):
            flags[name] = True


def _feed(stdin, data):
    # A script that never reads its stdin closes the pipe early; that is not an error.
    with contextlib.suppress(BrokenPipeError):
        stdin.write(data)
    with contextlib.suppress(BrokenPipeError):
        stdin.close()


def main():
    job = json.load(sys.stdin)
    params = job["params"]
    limit = job["limits"]["output_bytes"]
    script_path = "/tmp/script.py"
    with open(script_path, "w", encoding="utf-8") as script:
        script.write(params["script"])
    child = subprocess.Popen(
        # -S: nothing is installed beside the standard library, so skipping `site` only saves start-up time.
        [sys.executable, "-I", "-S", script_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/tmp",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"},
    )
    stdout, stderr, flags = bytearray(), bytearray(), {}
    threads = [
        threading.Thread(target=_capture, args=(child.stdout, limit, stdout, flags, "stdout")),
        threading.Thread(target=_capture, args=(child.stderr, limit, stderr, flags, "stderr")),
        threading.Thread(target=_feed, args=(child.stdin, params.get("stdin", "").encode("utf-8"))),
    ]
    for thread in threads:
        thread.start()
    exit_code = child.wait()
    for thread in threads:
        thread.join()
    json.dump(
        {
            "stdout": stdout.decode("utf-8", "replace"),
            "stderr": stderr.decode("utf-8", "replace"),
            "exit_code": exit_code,
            "truncated": bool(flags),
        },
        sys.stdout,
    )


main()
