"""The only module that talks to Docker."""

from __future__ import annotations

from typing import Any


def docker_status() -> dict[str, Any]:
    """Whether the Docker engine answers, and its version."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=2)
        try:
            version = client.version()
        finally:
            client.close()
    except (DockerException, OSError) as exc:
        return {"available": False, "error": f"docker unavailable: {type(exc).__name__}"}
    return {"available": True, "version": version.get("Version", "")}
