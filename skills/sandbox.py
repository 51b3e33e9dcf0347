"""The only module that talks to Docker: hardened single-use containers, the warm pool, the reaper
and the image build steps.

Every run gets: no network, a read-only root filesystem, a small tmpfs for /tmp, all capabilities
dropped, no-new-privileges, a non-root uid:gid, memory, pids and CPU limits, a wall-clock timeout
that kills, capped output, and removal afterwards. The workspace is mounted at /workspace only for
skills that declare filesystem access. A container runs exactly one job, whether it was started
cold or waited in the pool.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import select
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

LABEL = "actionhub.sandbox"
OWNER_LABEL = "actionhub.sandbox.owner"
ROLE_LABEL = "actionhub.sandbox.role"
LAUNCHER = ["python3", "-I", "/opt/actionhub/launcher.py"]
WORKSPACE_MOUNT = "/workspace"
TMP_SIZE = "16m"
OPEN_FILES = 256
STDERR_CAP = 64 * 1024
STDERR_GRACE = 1.0
API_TIMEOUT = 30
POOL_RETRY_SECONDS = 2.0
DOCKER_SILENT = "sandbox unavailable: the Docker engine does not answer"
POOL_RETRY_MAX_SECONDS = 60.0


class SandboxUnavailable(RuntimeError):
    """Docker does not answer or the image is missing; nothing ran. The message is what people read;
    `detail` is the exception behind it, for whoever fixes the machine."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class SandboxError(RuntimeError):
    """The run was contained but failed: timed out, out of memory, too much output, no result."""


@dataclass(frozen=True)
class Profile:
    """What a container is created with; a warm container serves only jobs of its profile."""

    memory: str
    workspace: str | None = None
    # Previews read a workspace without being able to change it.
    read_only: bool = False


@dataclass(frozen=True)
class SandboxJob:
    name: str
    source: str
    job: dict[str, Any]
    profile: Profile
    timeout: float


@dataclass
class SandboxRun:
    output: Any
    exit_code: int
    stderr: str
    container_id: str
    warm: bool
    seconds: float


@dataclass
class _Started:
    """A started container blocked reading its stdin, with our end of the attach stream."""

    id: str
    sock: socket.socket
    stream: Any
    profile: Profile
    warm: bool

    def close(self) -> None:
        # shutdown() acts at once even while docker-py's file object still holds the descriptor,
        # and Docker does not finish a kill while an attach stream to the container sits unread.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with contextlib.suppress(OSError):
            self.stream.close()


# Docker clients are not shared between threads: the pool refills in its own thread.
_local = threading.local()


def _client():
    client = getattr(_local, "client", None)
    if client is None:
        import docker

        try:
            if settings.ACTIONHUB_DOCKER_HOST:
                client = docker.DockerClient(base_url=settings.ACTIONHUB_DOCKER_HOST, timeout=API_TIMEOUT)
            else:
                client = docker.from_env(timeout=API_TIMEOUT)
        except docker_errors() as exc:
            raise SandboxUnavailable(DOCKER_SILENT, detail=_describe(exc)) from exc
        _local.client = client
    return client


def docker_errors() -> tuple[type[BaseException], ...]:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    return (DockerException, RequestException, OSError)


def owner_id() -> str:
    """This process, as written on the containers it creates (pid taken now: workers fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _labels(role: str) -> dict[str, str]:
    return {LABEL: "1", OWNER_LABEL: owner_id(), ROLE_LABEL: role}


def _create(profile: Profile, role: str) -> str:
    from docker.types import LogConfig, Ulimit

    api = _client().api
    host_config = api.create_host_config(
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={TMP_SIZE}"},  # noqa: S108 (inside the container)
        mem_limit=profile.memory,
        memswap_limit=profile.memory,
        pids_limit=settings.ACTIONHUB_SANDBOX_PIDS,
        nano_cpus=int(settings.ACTIONHUB_SANDBOX_CPUS * 1e9),
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        ipc_mode="private",
        ulimits=[Ulimit(name="nofile", soft=OPEN_FILES, hard=OPEN_FILES)],
        # Output travels over the attach stream only; nothing is kept in Docker's logs.
        log_config=LogConfig(type=LogConfig.types.NONE),
        binds=(
            {profile.workspace: {"bind": WORKSPACE_MOUNT, "mode": "ro" if profile.read_only else "rw"}}
            if profile.workspace
            else None
        ),
    )
    created = api.create_container(
        settings.ACTIONHUB_SANDBOX_IMAGE,
        command=LAUNCHER,
        # Not detached with stdin open: Docker sets StdinOnce, so our closing the stream ends stdin.
        stdin_open=True,
        user=settings.ACTIONHUB_SANDBOX_USER,
        working_dir="/tmp",  # noqa: S108
        hostname="sandbox",
        network_disabled=True,
        labels=_labels(role),
        host_config=host_config,
    )
    return created["Id"]


def _start(profile: Profile, *, warm: bool) -> _Started:
    """Create, attach to and start one container; its launcher then waits for a job on stdin."""
    from docker.errors import ImageNotFound

    client = _client()
    try:
        container_id = _create(profile, "warm" if warm else "cold")
    except ImageNotFound as exc:
        raise SandboxUnavailable(
            f"sandbox unavailable: image {settings.ACTIONHUB_SANDBOX_IMAGE} is not built "
            "(run: python manage.py build_sandbox_image)"
        ) from exc
    except docker_errors() as exc:
        raise SandboxUnavailable(DOCKER_SILENT, detail=_describe(exc)) from exc
    try:
        stream = client.api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        sock = stream._sock
        sock.setblocking(False)
        client.api.start(container_id)
    except BaseException as exc:
        _remove(container_id)
        if isinstance(exc, docker_errors()):
            raise SandboxUnavailable(DOCKER_SILENT, detail=_describe(exc)) from exc
        raise
    return _Started(id=container_id, sock=sock, stream=stream, profile=profile, warm=warm)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _remove(container_id: str) -> None:
    from docker.errors import NotFound

    try:
        _client().api.remove_container(container_id, force=True)
    except NotFound:
        logger.debug("sandbox container %s was already gone", container_id[:12])
    except docker_errors() as exc:
        # The reaper removes it at the next worker start; say so rather than fail the action.
        logger.warning("could not remove sandbox container %s: %s", container_id[:12], _describe(exc))


class _Remover:
    """Removes finished containers in the background, so a result does not wait for `docker rm`.

    Whatever a process could not remove before it died, the reaper removes at the next worker start.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, container_id: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-remover", daemon=True)
                self._thread.start()
        self._queue.put(container_id)

    def _run(self) -> None:
        while True:
            container_id = self._queue.get()
            try:
                _remove(container_id)
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Return once every container handed over so far is removed (or its removal failed)."""
        self._queue.join()


_remover = _Remover()


def removals_drain() -> None:
    _remover.drain()


def _kill(container_id: str) -> None:
    try:
        _client().api.kill(container_id)
    except docker_errors():
        pass


class _Streams:
    """Reads Docker's multiplexed attach stream (8-byte frame headers) with caps and a deadline,
    up to the launcher's end marker and trailer or, failing that, the end of the stream."""

    def __init__(self, sock: socket.socket, *, stdout_cap: int, end: bytes) -> None:
        self.sock = sock
        self.stdout_cap = stdout_cap
        self.end = end
        self.buffer = b""
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflowed = False
        self.trailer: dict[str, Any] | None = None

    def _find_trailer(self, appended: int) -> None:
        start = max(0, len(self.stdout) - appended - len(self.end))
        at = self.stdout.find(self.end, start)
        if at < 0:
            return
        line_end = self.stdout.find(b"\n", at + len(self.end))
        if line_end < 0:
            return
        try:
            self.trailer = json.loads(self.stdout[at + len(self.end) : line_end])
        except ValueError:
            self.trailer = {}
        # The launcher put a newline before the marker.
        del self.stdout[max(0, at - 1) :]

    def _frames(self) -> None:
        while len(self.buffer) >= 8:
            stream, size = struct.unpack(">BxxxL", self.buffer[:8])
            if len(self.buffer) < 8 + size:
                return
            payload, self.buffer = self.buffer[8 : 8 + size], self.buffer[8 + size :]
            if stream == 1 and self.trailer is None:
                self.stdout += payload
                self._find_trailer(len(payload))
                if len(self.stdout) > self.stdout_cap:
                    self.overflowed = True
            elif stream == 2 and len(self.stderr) < STDERR_CAP:
                self.stderr += payload[: STDERR_CAP - len(self.stderr)]

    def read_until_eof(self, deadline: float, *, stop_at_trailer: bool = True) -> bool:
        """True at the trailer (if `stop_at_trailer`) or the end of the stream; False past the
        deadline or over the cap."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([self.sock], [], [], remaining)
            if not readable:
                continue
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                return True
            if not chunk:
                return True
            self.buffer += chunk
            self._frames()
            if self.overflowed:
                return False
            if self.trailer is not None and stop_at_trailer:
                return True


def _send(sock: socket.socket, data: bytes) -> None:
    sock.setblocking(True)
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    finally:
        sock.setblocking(False)


def _finish(started: _Started, job: SandboxJob, began: float, end: bytes) -> SandboxRun:
    streams = _Streams(started.sock, stdout_cap=output_limit(), end=end)
    deadline = began + job.timeout
    ended = streams.read_until_eof(deadline)
    if ended and streams.trailer and streams.trailer.get("exit") != 0:
        # Docker copies stdout and stderr separately, so the end of stderr may still be on its way
        # after the trailer; a failure's message comes from it, so wait a moment for the stream to end.
        streams.read_until_eof(min(deadline, time.monotonic() + STDERR_GRACE), stop_at_trailer=False)
    started.close()
    stderr = streams.stderr.decode("utf-8", "replace")
    if streams.overflowed:
        _kill(started.id)
        raise SandboxError(f"output exceeded {output_limit()} bytes; the run was stopped")
    if not ended:
        _kill(started.id)
        raise SandboxError(f"timed out after {job.timeout:g} s")
    if streams.trailer:
        # The launcher reported the outcome; the container is torn down in the background.
        oom, exit_code = bool(streams.trailer.get("oom")), int(streams.trailer.get("exit", -1))
    else:
        # No trailer: the launcher itself died (killed for memory, crashed), so ask Docker.
        state = _wait_state(started.id)
        oom, exit_code = bool(state.get("OOMKilled")), int(state.get("ExitCode", -1))
    if oom:
        raise SandboxError(f"out of memory (limit {job.profile.memory})")
    return SandboxRun(
        output=_parse(bytes(streams.stdout), exit_code, stderr),
        exit_code=exit_code,
        stderr=stderr,
        container_id=started.id,
        warm=started.warm,
        seconds=time.monotonic() - began,
    )


def _wait_state(container_id: str) -> dict[str, Any]:
    client = _client()
    try:
        client.api.wait(container_id, timeout=10)
        return client.api.inspect_container(container_id)["State"]
    except docker_errors() as exc:
        logger.warning("could not read the state of sandbox container %s: %s", container_id[:12], _describe(exc))
        return {}


def _parse(stdout: bytes, exit_code: int, stderr: str) -> Any:
    text = stdout.decode("utf-8", "replace").strip()
    try:
        output = json.loads(text) if text else None
    except ValueError:
        output = None
    if isinstance(output, dict) and exit_code != 0 and isinstance(output.get("error"), str):
        raise SandboxError(output["error"])
    if exit_code == 137:
        raise SandboxError("the skill was killed (exit 137)")
    if output is None:
        detail = stderr.strip().splitlines()[-1][:500] if stderr.strip() else "no output"
        what = "no JSON result" if not text else "a result that is not JSON"
        raise SandboxError(f"the skill exited with {exit_code} and {what}: {detail}")
    if exit_code != 0:
        raise SandboxError(f"the skill exited with {exit_code}")
    return output


def output_limit() -> int:
    """Most bytes a run may write as its JSON result: room for a capped stream, JSON-escaped."""
    return 8 * settings.ACTIONHUB_SANDBOX_OUTPUT_BYTES + 64 * 1024


def run(job: SandboxJob) -> SandboxRun:
    """Run one job in a fresh container (a warm one when the pool has it) and remove the container."""
    began = time.monotonic()
    end = f"\x1eactionhub-end-{secrets.token_hex(16)}\x1e"
    request = json.dumps({"name": job.name, "source": job.source, "job": job.job, "end": end}).encode() + b"\n"
    started = _pool.take(job.profile) if _pool is not None else None
    if started is not None:
        try:
            _send(started.sock, request)
        except OSError:
            logger.warning("warm sandbox container %s was gone; starting a cold one", started.id[:12])
            started.close()
            _remove(started.id)
            started = None
    if started is None:
        started = _start(job.profile, warm=False)
        try:
            _send(started.sock, request)
        except OSError as exc:
            started.close()
            _remove(started.id)
            raise SandboxError(f"the sandbox container did not take its job: {exc}") from exc
    try:
        return _finish(started, job, began, end.encode())
    finally:
        _remover.put(started.id)


class WarmPool:
    """Started single-use containers waiting for one job each, refilled by a background thread."""

    def __init__(self, *, size: int, profiles: list[Profile]) -> None:
        self.size = size
        self.profiles = list(dict.fromkeys(profiles))
        self._idle: dict[Profile, deque[_Started]] = {profile: deque() for profile in self.profiles}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="sandbox-pool", daemon=True)
        self.last_error = ""

    def start(self) -> None:
        self._thread.start()

    def take(self, profile: Profile) -> _Started | None:
        with self._lock:
            idle = self._idle.get(profile)
            started = idle.popleft() if idle else None
        self._wake.set()
        return started

    def idle(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._idle.values())

    def _missing(self) -> Profile | None:
        with self._lock:
            for profile in self.profiles:
                if len(self._idle[profile]) < self.size:
                    return profile
        return None

    def _fill(self) -> None:
        backoff = POOL_RETRY_SECONDS
        while not self._stopping.is_set():
            profile = self._missing()
            if profile is None:
                self._wake.wait(5)
                self._wake.clear()
                continue
            try:
                started = _start(profile, warm=True)
            except Exception as exc:
                if str(exc) != self.last_error:
                    logger.warning("sandbox pool cannot start containers: %s", exc)
                self.last_error = str(exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, POOL_RETRY_MAX_SECONDS)
                continue
            self.last_error, backoff = "", POOL_RETRY_SECONDS
            with self._lock:
                if self._stopping.is_set():
                    started.close()
                    _remove(started.id)
                    return
                self._idle[profile].append(started)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=API_TIMEOUT)
        with self._lock:
            leftovers = [started for queue in self._idle.values() for started in queue]
            for queue in self._idle.values():
                queue.clear()
        for started in leftovers:
            started.close()
            _remove(started.id)
        removals_drain()


_pool: WarmPool | None = None


def pool_start(*, size: int, profiles: list[Profile]) -> WarmPool | None:
    """Start this process's warm pool (size 0: no pool, every run is cold)."""
    global _pool
    pool_stop()
    if size <= 0 or not profiles:
        return None
    _pool = WarmPool(size=size, profiles=profiles)
    _pool.start()
    return _pool


def pool_stop() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_leftovers() -> int:
    """Remove sandbox containers left by processes of this host that are gone; returns how many."""
    host = socket.gethostname()
    removed = 0
    try:
        containers = _client().api.containers(all=True, filters={"label": LABEL})
    except (SandboxUnavailable, *docker_errors()) as exc:
        logger.warning("sandbox reaper: %s", _describe(exc))
        return 0
    for container in containers:
        owner_host, _, pid = container.get("Labels", {}).get(OWNER_LABEL, "").rpartition(":")
        if owner_host != host or (pid.isdigit() and _alive(int(pid))):
            continue
        _remove(container["Id"])
        removed += 1
    if removed:
        logger.info("sandbox reaper removed %d leftover container(s)", removed)
    return removed


def containers_owned(owner: str | None = None) -> list[str]:
    """Ids of sandbox containers created by `owner` (default: this process, once its removals are done)."""
    if owner is None:
        removals_drain()
    containers = _client().api.containers(all=True, filters={"label": f"{OWNER_LABEL}={owner or owner_id()}"})
    return [container["Id"] for container in containers]


def image_present(tag: str | None = None) -> bool:
    from docker.errors import ImageNotFound

    try:
        _client().images.get(tag or settings.ACTIONHUB_SANDBOX_IMAGE)
    except ImageNotFound:
        return False
    return True


def image_import(tarball: Path, tag: str) -> None:
    repository, _, version = tag.partition(":")
    with tarball.open("rb") as data:
        _client().api.import_image_from_data(data, repository=repository, tag=version or "latest")


def image_build(*, context: Path, base: str, tags: list[str]) -> None:
    """`docker build` of the definition on top of `base` (legacy builder), tagged with every tag."""
    from docker.errors import BuildError

    client = _client()
    try:
        image, _ = client.images.build(path=str(context), buildargs={"BASE": base}, tag=tags[0], rm=True, pull=False)
    except BuildError as exc:
        lines = [entry.get("stream", "") or entry.get("error", "") for entry in exc.build_log]
        raise SandboxError(f"docker build failed: {exc.msg}\n{''.join(lines)[-2000:]}") from exc
    for tag in tags[1:]:
        repository, _, version = tag.partition(":")
        image.tag(repository, version or "latest")


def image_tag(source: str, tag: str) -> None:
    repository, _, version = tag.partition(":")
    _client().images.get(source).tag(repository, version or "latest")


def docker_status() -> dict[str, Any]:
    """Whether the Docker engine answers, whether the sandbox image is there, and the pool state."""
    import docker
    from docker.errors import DockerException

    try:
        if settings.ACTIONHUB_DOCKER_HOST:
            client = docker.DockerClient(base_url=settings.ACTIONHUB_DOCKER_HOST, timeout=2)
        else:
            client = docker.from_env(timeout=2)
        try:
            version = client.version()
            image = settings.ACTIONHUB_SANDBOX_IMAGE
            try:
                client.images.get(image)
                present = True
            except docker.errors.ImageNotFound:
                present = False
            warm = client.api.containers(filters={"label": f"{ROLE_LABEL}=warm", "status": "running"})
        finally:
            client.close()
    except (DockerException, OSError) as exc:
        return {"available": False, "error": f"docker unavailable: {type(exc).__name__}", "sandbox": "unavailable"}
    return {
        "available": True,
        "version": version.get("Version", ""),
        "image": {"name": image, "present": present},
        "sandbox": "ok" if present else "unavailable: image not built (python manage.py build_sandbox_image)",
        "pool": {"size_per_profile": settings.ACTIONHUB_SANDBOX_POOL_SIZE, "warm_containers": len(warm)},
    }


SANDBOX_STATE_CACHE = "skills.sandbox_unavailable"
SANDBOX_STATE_SECONDS = 30


def sandbox_unavailable_reason() -> str | None:
    """Why no action can run in the sandbox now, in one sentence; None when it can. Docker is asked
    at most every 30 s, so pages may show it for every action they list."""
    state = cache.get(SANDBOX_STATE_CACHE)
    if state is None:
        status = docker_status()
        if not status["available"]:
            state = {"reason": "The sandbox is unavailable: the Docker engine does not answer."}
        elif not status["image"]["present"]:
            state = {"reason": "The sandbox is unavailable: its image is not built."}
        else:
            state = {"reason": None}
        cache.set(SANDBOX_STATE_CACHE, state, SANDBOX_STATE_SECONDS)
    return state["reason"]
