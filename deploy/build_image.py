"""Build the application image from deploy/Dockerfile, cached by a hash of everything that goes in.

    python deploy/build_image.py                      # FROM python:3.11-slim-bookworm, pip from PyPI
    python deploy/build_image.py --debian-base --offline

`--debian-base` builds on the minimal Debian root filesystem the sandbox image starts from (made
with debootstrap and `docker import` by `manage.py build_sandbox_image`), for a Docker engine that
reaches no image registry. `--offline` downloads the pinned wheels on this machine first, with its
own pip and its own index settings, and installs only those inside the build: for a build that
cannot reach a package index itself. The image is tagged `actionhub:<key>` and `--tag`; a build
whose key exists already is skipped. Prints the tag on its last line.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "deploy/Dockerfile"
REQUIREMENTS = ROOT / "deploy" / "requirements.txt"
WHEELS = ROOT / "deploy" / "wheels"
REPOSITORY = "actionhub"
PUBLIC_BASE = "python:3.11-slim-bookworm"
OFFLINE_PIP_OPTIONS = "--no-index --find-links=/tmp/wheels"
# The wheels must run on the image's Python (3.11) and C library (Debian bookworm: glibc 2.36).
WHEEL_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)]
WHEEL_PLATFORMS += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


class BuildError(RuntimeError):
    pass


def _ignored_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().removeprefix("**/") for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(fnmatch.fnmatch(candidate, pattern) for pattern in patterns for candidate in (*prefixes, *parts))


def context_files() -> list[str]:
    """The files of the build context that git knows of (tracked or new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    patterns = _ignored_patterns()
    return sorted(
        path for path in set(listed.split("\0")) if path and (ROOT / path).is_file() and not _ignored(path, patterns)
    )


def image_key(*, base_id: str, pip_options: str) -> str:
    digest = hashlib.sha256()
    for part in (base_id, pip_options, *context_files()):
        digest.update(part.encode() + b"\0")
        if (ROOT / part).is_file():
            digest.update(hashlib.sha256((ROOT / part).read_bytes()).digest())
    return digest.hexdigest()[:16]


def _docker(*args: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=capture, text=True)


def image_id(reference: str) -> str | None:
    done = _docker("image", "inspect", "--format", "{{.Id}}", reference)
    return done.stdout.strip() if done.returncode == 0 else None


def debian_base(log) -> str:
    """The Debian root filesystem the sandbox image starts from, imported first if missing."""
    sys.path.insert(0, str(ROOT))
    from skills.image import image_definition

    tag = image_definition().base_tag
    if image_id(tag) is None:
        log(f"{tag} is missing: building the sandbox image, which imports it")
        env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1")}
        done = subprocess.run([sys.executable, "manage.py", "build_sandbox_image"], cwd=ROOT, env=env)
        if done.returncode != 0 or image_id(tag) is None:
            raise BuildError(f"could not build {tag} (above)")
    return tag


def wheels_download(log) -> None:
    """The pinned wheels in deploy/wheels/, downloaded once per requirements file and command."""
    platforms = [argument for platform in WHEEL_PLATFORMS for argument in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
        *platforms, "--dest", str(WHEELS), "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    # pip evaluates markers for this interpreter, not the image's: wheels a marker keeps from this
    # Python (async-timeout below 3.11.3, where Debian's 3.11.2 is) are fetched by name as well.
    lines = REQUIREMENTS.read_text().splitlines()
    command += [line.split(";")[0].strip() for line in lines if ";" in line and not line.startswith("#")]
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + "\0".join(command[1:]).encode()).hexdigest()[:16]
    stamp = WHEELS / f".downloaded-{key}"
    if stamp.exists():
        return
    for old in [*WHEELS.glob("*.whl"), *WHEELS.glob(".downloaded-*")]:
        old.unlink()
    log("downloading the pinned wheels with this machine's pip")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        noise = "is neither a file nor a directory"
        errors = "\n".join(line for line in done.stderr.splitlines() if noise not in line)
        raise BuildError(f"pip download failed:\n{errors[-2000:]}")
    stamp.touch()


def build(*, base: str, offline: bool, tag: str, force: bool, log) -> str:
    base_id = image_id(base)
    if base_id is None:
        raise BuildError(f"base image {base} is not present (docker pull {base}, or use --debian-base)")
    pip_options = OFFLINE_PIP_OPTIONS if offline else ""
    key = image_key(base_id=base_id, pip_options=pip_options)
    keyed = f"{REPOSITORY}:{key}"
    if image_id(keyed) is not None and not force:
        _docker("tag", keyed, tag)
        log(f"{keyed} is up to date")
        return keyed
    if offline:
        wheels_download(log)
    log(f"building {keyed} on {base}")
    command = ["build", "--file", DOCKERFILE, "--build-arg", f"BASE={base}", "--tag", keyed, "--tag", tag]
    command += ["--build-arg", f"PIP_INSTALL_OPTIONS={pip_options}", "."]
    # The classic builder: it needs no buildx plugin and runs on the engine Debian packages.
    done = subprocess.run(["docker", *command], cwd=ROOT, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if done.returncode != 0:
        raise BuildError(f"docker build failed with {done.returncode} (above)")
    return keyed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=PUBLIC_BASE, help=f"base image (default {PUBLIC_BASE})")
    parser.add_argument("--debian-base", action="store_true", help="build on the locally imported Debian base")
    parser.add_argument("--offline", action="store_true", help="install wheels downloaded on this machine first")
    parser.add_argument("--tag", default=f"{REPOSITORY}:latest", help="tag for the built image")
    parser.add_argument("--force", action="store_true", help="build even if the image for this key exists")
    options = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.monotonic()
    try:
        base = debian_base(log) if options.debian_base else options.base
        keyed = build(base=base, offline=options.offline, tag=options.tag, force=options.force, log=log)
    except BuildError as exc:
        log(str(exc))
        return 1
    log(f"ready in {time.monotonic() - started:.1f}s, tagged {options.tag}")
    print(keyed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
