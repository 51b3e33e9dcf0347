"""Build the sandbox image from Debian packages: debootstrap, `docker import`, then `docker build`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from skills import sandbox
from skills.image import DEFINITION_DIR, ImageBuildError, apt_mirror, image_definition, rootfs_tarball


class Command(BaseCommand):
    help = (
        "Build the sandbox image skills run in (no registry needed). Cached: skipped when the image for the "
        "current definition exists; the debootstrapped root filesystem is kept in ACTIONHUB_SANDBOX_CACHE_DIR."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--mirror", default="", help="Debian mirror for debootstrap (default: ACTIONHUB_DEBIAN_MIRROR, else apt's)"
        )
        parser.add_argument("--force", action="store_true", help="rebuild the image even if it exists")
        parser.add_argument("--dry-run", action="store_true", help="say what would be built, build nothing")

    def handle(self, *args: Any, mirror: str, force: bool, dry_run: bool, **options: Any) -> None:
        definition = image_definition()
        target = settings.ACTIONHUB_SANDBOX_IMAGE
        try:
            built = sandbox.image_present(definition.tag)
            base_present = sandbox.image_present(definition.base_tag)
        except (sandbox.SandboxUnavailable, *sandbox.docker_errors()) as exc:
            raise CommandError(f"docker unavailable: {exc}") from exc
        if built and not force:
            if not dry_run:
                sandbox.image_tag(definition.tag, target)
            self.stdout.write(self.style.SUCCESS(f"{target} is up to date ({definition.tag})"))
            return
        mirror = mirror or settings.ACTIONHUB_DEBIAN_MIRROR or (apt_mirror() or "")
        if not base_present and not mirror:
            raise CommandError("no Debian mirror found in apt's sources; pass --mirror or set ACTIONHUB_DEBIAN_MIRROR")
        if dry_run:
            base = "present" if base_present else f"debootstrap from {mirror}, then docker import"
            self.stdout.write(f"would build {definition.tag} and tag {target}; base {definition.base_tag}: {base}")
            return
        try:
            if not base_present:
                tarball = rootfs_tarball(
                    definition=definition, mirror=mirror, cache_dir=settings.ACTIONHUB_SANDBOX_CACHE_DIR, log=self._log
                )
                self._log(f"importing {definition.base_tag}")
                sandbox.image_import(tarball, definition.base_tag)
            self._log(f"building {definition.tag}")
            sandbox.image_build(context=DEFINITION_DIR, base=definition.base_tag, tags=[definition.tag, target])
        except (ImageBuildError, sandbox.SandboxError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"built {definition.tag}, tagged {target}"))

    def _log(self, message: str) -> None:
        self.stdout.write(message)
