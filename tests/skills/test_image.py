"""The sandbox image definition: its cache key, the mirror found in apt's sources, the build command."""

from __future__ import annotations

from django.core.management import call_command

from skills import image, sandbox
from tests.conftest import require


def test_it_finds_the_debian_mirror_in_deb822_sources(tmp_path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    assert image.apt_mirror("bookworm", (tmp_path / "sources.list", tmp_path)) == "http://mirror.example/debian"


def test_it_finds_the_debian_mirror_in_a_one_line_sources_list(tmp_path):
    listing = tmp_path / "sources.list"
    listing.write_text(
        "# comment\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64] http://one.example/debian bookworm main\n"
    )
    assert image.apt_mirror("bookworm", (listing,)) == "http://one.example/debian"
    assert image.apt_mirror("trixie", (listing,)) is None


def test_it_keys_the_image_by_its_whole_definition(tmp_path, monkeypatch):
    for source in image.DEFINITION_DIR.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(image, "DEFINITION_DIR", tmp_path)
    before = image.image_definition()
    (tmp_path / "launcher.py").write_text((tmp_path / "launcher.py").read_text() + "\n# changed\n")
    after = image.image_definition()
    assert after.key != before.key
    assert after.base_key == before.base_key
    (tmp_path / "packages.txt").write_text("python3\nca-certificates\n")
    assert image.image_definition().base_key != before.base_key


def test_it_skips_the_build_when_the_image_for_this_definition_exists(capsys):
    require(sandbox.docker_status()["available"], "no Docker engine answers")
    require(sandbox.image_present(image.image_definition().tag), "sandbox image missing")
    call_command("build_sandbox_image")
    assert "is up to date" in capsys.readouterr().out
