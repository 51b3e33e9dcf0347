"""The sandbox image's definition, its cache key, and the Debian root filesystem it starts from.

No image registry is needed: the base is a minimal Debian built with debootstrap from the mirror
this machine's apt already uses, imported into Docker; the small Dockerfile in sandbox_image/ goes
on top. Docker itself is driven from skills/sandbox.py.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFINITION_DIR = Path(__file__).resolve().parent / "sandbox_image"
SUITE = "bookworm"
VARIANT = "minbase"
IMAGE_REPOSITORY = "actionhub-sandbox"
BASE_REPOSITORY = "actionhub-sandbox-base"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
# Left out of the root filesystem: documentation and apt state nothing in the sandbox reads.
ROOTFS_PRUNE = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/apt/lists",
    "var/cache/apt",
)


class ImageBuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class ImageDefinition:
    packages: tuple[str, ...]
    base_key: str
    key: str

    @property
    def base_tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.base_key}"

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.key}"


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:16]


def image_definition() -> ImageDefinition:
    """The definition and its cache keys: the base by suite and packages, the image by every file too."""
    packages_text = (DEFINITION_DIR / "packages.txt").read_text()
    packages = tuple(line.strip() for line in packages_text.splitlines() if line.strip() and not line.startswith("#"))
    base_key = _digest(SUITE.encode(), VARIANT.encode(), " ".join(sorted(packages)).encode())
    files = sorted(path for path in DEFINITION_DIR.rglob("*") if path.is_file())
    key = _digest(
        base_key.encode(), *(p.relative_to(DEFINITION_DIR).as_posix().encode() + p.read_bytes() for p in files)
    )
    return ImageDefinition(packages=packages, base_key=base_key, key=key)


def _one_line_sources(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            found.append((line[1], [line[2]]))
    return found


def _deb822_sources(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            found.append((uri, fields.get("suites", "").split()))
    return found


def apt_mirror(suite: str = SUITE, sources: tuple[Path, ...] = APT_SOURCES) -> str | None:
    """The Debian mirror this machine's apt uses for `suite`, or None."""
    candidates: list[tuple[str, list[str]]] = []
    for source in sources:
        paths = sorted(source.glob("*")) if source.is_dir() else [source]
        for path in paths:
            if not path.is_file():
                continue
            text = path.read_text(errors="replace")
            if path.suffix == ".sources":
                candidates += _deb822_sources(text)
            elif path.suffix == ".list" or path.name == "sources.list":
                candidates += _one_line_sources(text)
    for uri, suites in candidates:
        if suite in suites:
            return uri
    return None


def rootfs_tarball(*, definition: ImageDefinition, mirror: str, cache_dir: Path, log) -> Path:
    """A tarball of the minimal Debian root filesystem, debootstrapped once and cached by its key."""
    tarball = cache_dir / f"rootfs-{definition.base_key}.tar"
    if tarball.exists():
        log(f"using cached root filesystem {tarball}")
        return tarball
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="actionhub-rootfs-", dir=cache_dir) as work:
        root = Path(work) / "root"
        command = [
            "debootstrap",
            f"--variant={VARIANT}",
            f"--include={','.join(definition.packages)}",
            SUITE,
            str(root),
            mirror,
        ]
        log(f"running {' '.join(command)}")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ImageBuildError(f"debootstrap failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        for relative in ROOTFS_PRUNE:
            shutil.rmtree(root / relative, ignore_errors=True)
        partial = Path(work) / "rootfs.tar"
        packed = subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], capture_output=True, text=True
        )
        if packed.returncode != 0:
            raise ImageBuildError(f"packing the root filesystem failed: {packed.stderr.strip()[-2000:]}")
        partial.replace(tarball)
    log(f"cached root filesystem {tarball}")
    return tarball
