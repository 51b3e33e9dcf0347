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
    # The readers and the feeder start before the script does: once it runs, a fork bomb may leave
    # no process slot for a thread, and the run must still end at its timeout, not here.
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    in_read, in_write = os.pipe()
    stdout, stderr, flags = bytearray(), bytearray(), {}
    threads = [
        threading.Thread(target=_capture, args=(os.fdopen(out_read, "rb"), limit, stdout, flags, "stdout")),
        threading.Thread(target=_capture, args=(os.fdopen(err_read, "rb"), limit, stderr, flags, "stderr")),
        threading.Thread(target=_feed, args=(os.fdopen(in_write, "wb"), params.get("stdin", "").encode("utf-8"))),
    ]
    for thread in threads:
        thread.start()
    try:
        child = subprocess.Popen(
            # -S: nothing is installed beside the standard library, so skipping `site` only saves start-up time.
            [sys.executable, "-I", "-S", script_path],
            stdin=in_read,
            stdout=out_write,
            stderr=err_write,
            cwd="/tmp",
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"},
        )
    finally:  # the child holds its own ends now; without ours the readers see the end of its output
        for fd in (in_read, out_write, err_write):
            os.close(fd)
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
