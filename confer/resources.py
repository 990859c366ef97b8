"""Where Confer's own files are: its templates, static files and migrations.

The repository keeps them at its root (`templates/`, `static/`, `migrations/`). A wheel, or a
plain `pip install .`, carries them inside the package (`confer/templates/…`: pyproject.toml
maps the folders into it), and they are found there through `importlib.resources`. In a
checkout (`pip install -e .`, or the tests run from the source tree) they stand beside the
package instead, at the root of the checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from confer.errors import StartupError

# docs/: the accessibility statement is served as a page (confer.site.views).
NAMES = ("templates", "static", "migrations", "docs")


class MissingResource(StartupError):
    """Confer's own files are not where the package says they are: a broken install."""


def path(name: str) -> Path:
    """The folder `name` (one of NAMES) as a real directory, or MissingResource."""
    if name not in NAMES:
        raise ValueError(f"not one of Confer's resource folders: {name!r}")
    package = Path(str(resources.files("confer")))
    inside = package / name
    if inside.is_dir():
        return inside
    # A checkout: the folder beside the package, only if this really is Confer's checkout.
    beside = package.parent / name
    if beside.is_dir() and (package.parent / "pyproject.toml").is_file():
        return beside
    raise MissingResource(
        f"Confer's {name}/ folder is missing: it is neither in the installed package "
        f"({inside}) nor beside it in a checkout ({beside}). Reinstall Confer "
        "(pip install --force-reinstall confer-forum) or run it from a complete checkout."
    )
