"""The repository stands on its own: no tracked file points outside it, and every sample says where it came from."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "samples"
# Built from pieces so that this file does not match itself. An absolute path starts after a space, quote, bracket,
# backtick or line start (a path inside a URL is not one).
OUTSIDE = re.compile(rb"\.\./" + b"shared" + rb"|(?<![\w.~-])/" + b"work" + rb"/")


def _tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is needed to list the tracked files")
    listing = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)  # noqa: S603
    return [name for name in listing.stdout.decode("utf-8").split("\0") if name]


def test_the_file_listing_is_the_repository():
    files = _tracked_files()
    assert "README.md" in files and "app/__init__.py" in files
    for folder in ("app/", "tests/", "simulators/", "scripts/", "bench/", "migrations/"):
        assert any(name.startswith(folder) for name in files), folder


def test_no_tracked_file_refers_outside_the_repository():
    offenders = []
    for name in _tracked_files():
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, or a symbolic link to a folder
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.decode('utf-8', 'replace').strip()[:120]}")
    assert not offenders, "facts belong in docs/, samples in tests/samples/:\n" + "\n".join(offenders)


def test_the_pattern_finds_what_it_must():
    assert OUTSIDE.search(b"see ../" + b"shared/docs/standards/orca.md")
    assert OUTSIDE.search(b'Path("/' + b'work/shared/data/masters/procedures.csv")')
    assert OUTSIDE.search(b"/" + b"work/wt/docs")
    assert not OUTSIDE.search(b"https://example.org/" + b"work/item")
    assert not OUTSIDE.search(b"docs/standards/orca.md")


def test_every_sample_folder_names_its_provenance():
    folders = sorted(path for path in SAMPLES.iterdir() if path.is_dir())
    assert folders
    assert [f.name for f in folders if not (f / "PROVENANCE.md").is_file()] == []
    assert sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("SOURCE.md")) == []
