"""The sandbox against the real Docker engine: hardening as seen from inside, and abuse contained.

Every abuse must end as a failed action with a clear error (or, for an output flood, a truncated
result) and leave no container behind. No test sends traffic to any address outside loopback.
"""

from __future__ import annotations

import json

import pytest

from approvals.models import Status
from skills import sandbox
from skills.registry import get_skill
from skills.runner import run_skill
from tests.skills.conftest import run_approved, write_skill

pytestmark = [pytest.mark.usefixtures("docker_sandbox"), pytest.mark.django_db(transaction=True)]


def _python(skill_id: str, script: str, stdin: str = "") -> dict:
    return {"action_type": "skill_execution", "skill_id": skill_id, "parameters": {"script": script, "stdin": stdin}}


def _run_script(script: str) -> dict:
    return run_skill(skill=get_skill("python"), parameters={"script": script}).output


def test_it_runs_a_python_script_with_stdin_and_reports_its_output(alice, bob):
    action = run_approved(alice, bob, _python("python", "import sys\nprint(sys.stdin.read().upper())", "hello"))
    assert action.status == Status.COMPLETED, action.error
    assert action.result == {"stdout": "HELLO\n", "stderr": "", "exit_code": 0, "truncated": False}


def test_it_reports_a_failing_script_as_its_exit_code_and_stderr(alice, bob):
    action = run_approved(alice, bob, _python("python", "import sys\nsys.exit('bad input')"))
    assert action.status == Status.COMPLETED
    assert action.result["exit_code"] == 1
    assert "bad input" in action.result["stderr"]


def test_it_runs_as_a_non_root_user_without_capabilities_or_new_privileges():
    script = "import os\nprint(os.getuid(), os.getgid())\nprint(open('/proc/self/status').read())"
    stdout = _run_script(script)["stdout"]
    ids, _, status = stdout.partition("\n")
    uid, gid = (int(part) for part in ids.split())
    assert uid != 0 and gid != 0
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == "0000000000000000"
    assert fields["CapPrm"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"


def test_it_sees_no_network_but_loopback_and_cannot_resolve_names():
    # Resolution is only attempted once the interface list proves nothing could leave the container.
    script = (
        "import json, socket\n"
        "names = [name for _, name in socket.if_nameindex()]\n"
        "result = {'interfaces': names}\n"
        "if names == ['lo']:\n"
        "    try:\n"
        "        socket.getaddrinfo('example.com', 443)\n"
        "        result['resolved'] = True\n"
        "    except OSError as exc:\n"
        "        result['resolved'] = False\n"
        "        result['error'] = str(exc)\n"
        "print(json.dumps(result))\n"
    )
    result = json.loads(_run_script(script)["stdout"])
    assert result["interfaces"] == ["lo"]
    assert result["resolved"] is False


def test_it_cannot_write_outside_workspace_and_tmp():
    script = (
        "for path in ['/x', '/etc/x', '/usr/x', '/opt/actionhub/x', '/workspace/x', '/home/x', '/tmp/ok']:\n"
        "    try:\n"
        "        open(path, 'w').write('1')\n"
        "        print(path, 'written')\n"
        "    except OSError as exc:\n"
        "        print(path, 'refused', exc.errno)\n"
    )
    lines = dict(line.split(" ", 1) for line in _run_script(script)["stdout"].splitlines())
    assert lines.pop("/tmp/ok") == "written"
    assert all(outcome.startswith("refused") for outcome in lines.values()), lines


def test_it_cannot_read_shadow_or_reach_a_docker_socket():
    script = (
        "import os\n"
        "try:\n"
        "    open('/etc/shadow').read()\n"
        "    print('shadow readable')\n"
        "except PermissionError:\n"
        "    print('shadow refused')\n"
        "print([p for p in ('/var/run/docker.sock', '/run/docker.sock', '/docker.sock') if os.path.exists(p)])\n"
    )
    assert _run_script(script)["stdout"] == "shadow refused\n[]\n"


def test_it_contains_a_fork_bomb(alice, bob, tight_python):
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    action = run_approved(alice, bob, _python(tight_python, bomb))
    assert action.status == Status.FAILED
    assert action.error == "timed out after 2 s"


def test_it_reports_a_memory_bomb_as_out_of_memory(alice, bob, tight_python):
    action = run_approved(alice, bob, _python(tight_python, "hog = bytearray(512 * 1024 * 1024)\nprint(len(hog))"))
    assert action.status == Status.FAILED
    assert action.error == "out of memory (limit 64m)"


@pytest.mark.parametrize("script", ["while True:\n    pass\n", "import time\ntime.sleep(60)\n"])
def test_it_kills_a_run_at_its_timeout(alice, bob, tight_python, script):
    action = run_approved(alice, bob, _python(tight_python, script))
    assert action.status == Status.FAILED
    assert action.error == "timed out after 2 s"


def test_it_truncates_an_output_flood(alice, bob, tight_python, settings):
    settings.ACTIONHUB_SANDBOX_OUTPUT_BYTES = 64 * 1024
    flood = "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 65536)\n    sys.stderr.write('y' * 65536)\n"
    action = run_approved(alice, bob, _python(tight_python, flood))
    assert action.status == Status.COMPLETED, action.error
    assert action.result["truncated"] is True
    assert action.result["stdout"] == "x" * 64 * 1024
    assert action.result["stderr"] == "y" * 64 * 1024


def test_it_stops_a_skill_that_floods_its_result(alice, skills_dir, settings):
    settings.ACTIONHUB_SANDBOX_OUTPUT_BYTES = 1024
    manifest = {"id": "chatty", "name": "Chatty", "entrypoint": "chatty.py", "access": "none", "timeout": 5}
    write_skill(skills_dir, manifest, "import sys\nwhile True:\n    sys.stdout.write('z' * 65536)\n")
    action = run_approved(alice, None, {"action_type": "skill_execution", "skill_id": "chatty", "parameters": {}})
    assert action.status == Status.FAILED
    assert action.error == f"output exceeded {sandbox.output_limit()} bytes; the run was stopped"


def test_it_fails_a_skill_whose_result_is_not_json(alice, skills_dir):
    manifest = {"id": "rambler", "name": "Rambler", "entrypoint": "rambler.py", "access": "none", "timeout": 5}
    write_skill(skills_dir, manifest, "print('just words')\n")
    action = run_approved(alice, None, {"action_type": "skill_execution", "skill_id": "rambler", "parameters": {}})
    assert action.status == Status.FAILED
    assert action.error.startswith("the skill exited with 0 and a result that is not JSON")


def test_it_fails_clearly_when_docker_is_unavailable(alice, bob, settings):
    settings.ACTIONHUB_DOCKER_HOST = "unix:///nonexistent/docker.sock"
    sandbox._local.__dict__.clear()
    try:
        action = run_approved(alice, bob, _python("python", "print(1)"))
    finally:
        settings.ACTIONHUB_DOCKER_HOST = ""
        sandbox._local.__dict__.clear()
    assert action.status == Status.FAILED
    assert action.error.startswith("sandbox unavailable")


def test_it_fails_clearly_when_the_image_is_missing(alice, bob, settings):
    settings.ACTIONHUB_SANDBOX_IMAGE = "actionhub-sandbox:never-built"
    action = run_approved(alice, bob, _python("python", "print(1)"))
    assert action.status == Status.FAILED
    assert action.error == (
        "sandbox unavailable: image actionhub-sandbox:never-built is not built "
        "(run: python manage.py build_sandbox_image)"
    )


def test_it_reports_out_of_memory_when_the_skill_process_itself_is_killed(alice, skills_dir):
    manifest = {"id": "hog", "name": "Hog", "entrypoint": "hog.py", "access": "none", "timeout": 5, "memory": "64m"}
    write_skill(skills_dir, manifest, "hog = bytearray(512 * 1024 * 1024)\nprint('{}')\n")
    action = run_approved(alice, None, {"action_type": "skill_execution", "skill_id": "hog", "parameters": {}})
    assert action.status == Status.FAILED
    assert action.error == "out of memory (limit 64m)"


def test_it_reports_a_crashing_skill_with_the_end_of_its_traceback(alice, skills_dir):
    manifest = {"id": "broken", "name": "Broken", "entrypoint": "broken.py", "access": "none", "timeout": 5}
    write_skill(skills_dir, manifest, "raise RuntimeError('the widget is missing')\n")
    action = run_approved(alice, None, {"action_type": "skill_execution", "skill_id": "broken", "parameters": {}})
    assert action.status == Status.FAILED
    assert action.error == "the skill exited with 1 and no JSON result: RuntimeError: the widget is missing"


def test_it_takes_a_container_someone_else_removed_as_removed(caplog):
    with caplog.at_level("DEBUG", logger="skills.sandbox"):
        sandbox._remove("actionhub-no-such-container")
    assert [record.levelname for record in caplog.records] == ["DEBUG"], caplog.text
