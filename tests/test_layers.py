"""The tree's arrows point down: the ground floor (config, logging, privacy, places) imports none of
the packages, the model nothing above it, duplicate detection only the model, training never the
service. Read from the source's import statements, so a new upward import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from petition_triage.config import REPO_ROOT

# Each package (installed as petition_triage.<name> from the folder of that name) and the packages it
# may import besides the ground floor.
ALLOWED = {
    "model": set(),
    "dedup": {"model"},
    "training": {"model", "dedup"},
    "service": {"model", "dedup", "training"},
}
GROUND = ["config.py", "logs.py", "privacy.py", "places.py", "private_files.py"]


def imported_packages(path: Path, package: list[str]) -> set[str]:
    """The petition_triage subpackages a module imports; `package` is the dotted package it is in."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the module's own package
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "petition_triage" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package):
    wrong = {}
    folder = REPO_ROOT / package
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        inside = ["petition_triage", package, *path.relative_to(folder).parts[:-1]]
        upward = imported_packages(path, inside) - ALLOWED[package] - {package}
        if upward:
            wrong[str(path.relative_to(REPO_ROOT))] = sorted(upward)
    assert not wrong, f"imports pointing up from {package}: {wrong}"


def test_the_ground_floor_imports_no_package():
    for name in GROUND:
        path = REPO_ROOT / "petition_triage" / name
        assert not imported_packages(path, ["petition_triage"]), f"{name} imports a package above the ground floor"


def test_an_upward_import_is_seen(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from ..service.tables import Case\nfrom . import decision\n", encoding="utf-8")
    assert imported_packages(module, ["petition_triage", "training", "sub"]) == {"training"}
    assert imported_packages(module, ["petition_triage", "training"]) == {"service", "training"}
