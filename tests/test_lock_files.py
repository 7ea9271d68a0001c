"""The lock files pin every dependency that pyproject.toml names, within its bounds, and agree
with each other: after changing pyproject.toml, ``make lock``."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from portal.core.settings import PROJECT_ROOT

PROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def pinned(lock_file: str) -> dict[str, set[Version]]:
    """Each package's pinned versions (a few differ per Python version: one line each)."""
    versions: dict[str, set[Version]] = {}
    for match in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", (PROJECT_ROOT / lock_file).read_text(), re.M):
        versions.setdefault(canonicalize_name(match[1]), set()).add(Version(match[2]))
    return versions


@pytest.mark.parametrize(("lock_file", "extras"), [
    ("requirements.lock", ()),
    ("requirements-dev.lock", ("test", "dev")),
])
def test_a_lock_file_pins_every_dependency_within_its_bounds(lock_file, extras):
    wanted = PROJECT["dependencies"] + [
        line for extra in extras for line in PROJECT["optional-dependencies"][extra]
    ]
    versions = pinned(lock_file)
    for requirement in map(Requirement, wanted):
        name = canonicalize_name(requirement.name)
        assert name in versions, f"{requirement.name} is not in {lock_file}: run make lock"
        assert all(requirement.specifier.contains(version) for version in versions[name]), (
            f"{lock_file} pins {requirement.name} {versions[name]}, outside {requirement.specifier}: run make lock"
        )


def test_the_image_runs_the_versions_the_tests_ran():
    image, development = pinned("requirements.lock"), pinned("requirements-dev.lock")
    assert {name: development.get(name) for name in image} == image
