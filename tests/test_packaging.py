"""Confer as a package: what the wheel carries, where Confer finds its files, what it declares,
and the command line's refusals that keep an operator from acting on the wrong database."""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import asyncpg
import pytest

import confer
from confer import db, resources
from tests.conftest import _with_db
from tests.test_cli import _confer, _env

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_confer_is_in_the_build():
    """pyproject.toml lists its packages by hand (templates/, static/ and migrations/ are mapped
    into the package): a new subpackage left out would be missing from every install."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "confer").rglob("__init__.py")
    }
    assert on_disk - listed == set()
    mapped = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert mapped == {f"confer.{n}": n for n in resources.NAMES}


def test_the_distribution_is_confer_forum_and_the_command_confer():
    assert PYPROJECT["project"]["name"] == "confer-forum"
    assert PYPROJECT["project"]["scripts"] == {"confer": "confer.cli:main"}
    assert PYPROJECT["project"]["license"] == "AGPL-3.0-or-later"
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()
    done = _confer("--version", env=_env())
    assert done.returncode == 0 and done.stdout.strip() == f"confer {confer.__version__}"


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "confer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"confer", "__future__"}


def test_every_imported_library_is_a_declared_dependency():
    import re

    declared = {
        re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-")
        for d in PYPROJECT["project"]["dependencies"]
    }
    distributions = importlib.metadata.packages_distributions()
    missing = {
        module: distributions.get(module)
        for module in _imported_modules()
        if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & declared
    }
    assert missing == {}


def test_the_wheel_carries_templates_static_migrations_and_the_licence(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("confer_forum-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in resources.NAMES:
        on_disk = {
            f"confer/{folder}/{p.relative_to(ROOT / folder).as_posix()}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert on_disk and on_disk - names == set(), folder
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_resources_are_found_and_a_broken_install_is_named(monkeypatch, tmp_path):
    for name in resources.NAMES:
        assert resources.path(name).is_dir()
    # An installed package without its folders (and no checkout around it).
    fake = tmp_path / "site" / "confer"
    fake.mkdir(parents=True)
    monkeypatch.setattr(resources.resources, "files", lambda _: fake)
    with pytest.raises(resources.MissingResource, match=r"templates/ folder is missing"):
        resources.path("templates")


def test_migrate_refuses_an_empty_migrations_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "path", lambda name: tmp_path)
    with pytest.raises(resources.MissingResource, match="No migration files"):
        db.migration_files()


def test_migrate_says_what_it_applied_then_that_nothing_was_left(pg_uri, tmp_path):
    async def fresh() -> None:
        con = await asyncpg.connect(pg_uri)
        try:
            await con.execute("DROP DATABASE IF EXISTS t_cli_migrate")
            await con.execute("CREATE DATABASE t_cli_migrate")
        finally:
            await con.close()

    asyncio.run(fresh())
    url = _with_db(pg_uri, "t_cli_migrate")
    env = _env(DATABASE_URL=url, CONFER_DATA_DIR=str(tmp_path))
    # Before migrating, other commands refuse to run on an operator's database.
    refused = _confer("user", "create", "--email", "a@example.org", "--name", "A",
                      "--password", "a long pass phrase", env=env)  # fmt: skip
    assert refused.returncode == 2
    assert "run `confer migrate` first" in refused.stderr
    first = _confer("migrate", env=env)
    count = len(db.migration_files())
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Applied {count} migration(s): 0001_initial")
    again = _confer("migrate", env=env)
    assert again.stdout.strip() == "The database is up to date: no migration to apply."
    made = _confer("user", "create", "--email", "a@example.org", "--name", "A",
                   "--password", "a long pass phrase", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr


def test_a_command_without_database_url_will_not_create_an_embedded_database(tmp_path):
    env = _env(CONFER_DATA_DIR=str(tmp_path / "var"))
    done = _confer("user", "create", "--email", "it@example.gov.uk", "--name", "IT", "--admin",
                   "--password", "a long pass phrase", env=env)  # fmt: skip
    assert done.returncode == 2
    assert "DATABASE_URL is not set" in done.stderr and "--create-embedded" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "pg").exists()
