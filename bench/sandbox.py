"""Sandbox benchmarks: a skill's round trip with a cold container and a warm one (p50, p95), and
skill actions per second through two real workers, with and without the warm pool.

Needs the sandbox image (`python manage.py build_sandbox_image`) and DATABASE_URL pointing at
PostgreSQL (`bash bench/run.sh` provides one).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    bench_database_url,
    environment,
    manage,
    percentiles,
    recreate_database,
    report,
    setup_django,
)

ROUNDS = 60
WARMUP = 5
ACTIONS = 80
SCRIPT = {"script": "import sys\nprint(sys.stdin.read()[::-1])", "stdin": "round trip"}
LISTING = {"operation": "list", "path": "."}


def round_trips(skill_id: str, parameters: dict, *, warm: bool) -> list[float]:
    from skills import sandbox
    from skills.registry import get_skill
    from skills.runner import profile_for, run_skill

    skill = get_skill(skill_id)
    pool = sandbox.pool_start(size=1, profiles=[profile_for(skill, parameters)]) if warm else None
    samples = []
    try:
        for _ in range(ROUNDS + WARMUP):
            if pool is not None:
                # Measure a warm run, not the refill: wait until the pool has its container back.
                deadline = time.monotonic() + 30
                while pool.idle() < 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
            began = time.perf_counter()
            run = run_skill(skill=skill, parameters=parameters)
            samples.append((time.perf_counter() - began) * 1000)
            if run.warm != warm:
                raise RuntimeError(f"expected a {'warm' if warm else 'cold'} run")
    finally:
        sandbox.pool_stop()
    return samples[WARMUP:]


def throughput(env: dict[str, str], *, pool_size: int) -> float:
    """Approved python skill actions completed per second by two workers."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min

    from approvals.models import Action
    from approvals.services import action_create, action_decide

    users = get_user_model().objects
    alice, bob = users.get(username="alice"), users.get(username="bob")
    worker_env = {**env, "ACTIONHUB_SANDBOX_POOL_SIZE": str(pool_size)}
    workers = [subprocess.Popen([PYTHON, "manage.py", "run_worker"], cwd=ROOT, env=worker_env) for _ in range(2)]
    ids = []
    try:
        time.sleep(5)  # both workers up, their pools filled
        for _ in range(ACTIONS):
            action = action_create(user=alice, action_type="skill_execution", skill_id="python", parameters=SCRIPT)
            action_decide(action_id=action.id, user=bob, approved=True)
            ids.append(action.id)
        deadline = time.monotonic() + 300
        while Action.objects.filter(id__in=ids, status__in=("approved", "executing")).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("actions did not finish within 300 s")
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    done = Action.objects.filter(id__in=ids)
    failed = done.exclude(status="completed").count()
    if failed:
        raise RuntimeError(f"{failed} of {ACTIONS} actions did not complete")
    span = done.aggregate(first=Min("approved_at"), last=Max("completed_at"))
    return ACTIONS / (span["last"] - span["first"]).total_seconds()


def main() -> None:
    url = bench_database_url("bench_sandbox")
    recreate_database(url)
    env = environment(url, ACTIONHUB_WORKSPACES_DIR=tempfile.mkdtemp(prefix="bench-workspaces-"))
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    manage(env, "build_sandbox_image")
    setup_django(env)

    for skill_id, parameters in (("python", SCRIPT), ("filesystem", LISTING)):
        cold = percentiles(round_trips(skill_id, parameters, warm=False))
        warm = percentiles(round_trips(skill_id, parameters, warm=True))
        cold_text = f"p50 {cold['p50']:.0f} ms, p95 {cold['p95']:.0f} ms"
        print(f"| {skill_id} skill round trip, cold container | {cold_text} | - | - |", flush=True)
        report(
            f"{skill_id} skill round trip, warm pool",
            f"p50 {warm['p50']:.0f} ms, p95 {warm['p95']:.0f} ms",
            "p50 <= 150 ms",
            warm["p50"] <= 150,
        )
    for pool_size in (2, 0):
        rate = throughput(env, pool_size=pool_size)
        label = f"pool {pool_size} per worker" if pool_size else "no pool"
        print(f"| python skill actions through two workers, {label} | {rate:.1f} actions/s | - | - |", flush=True)


if __name__ == "__main__":
    main()
