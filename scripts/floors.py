"""The lower bounds that pyproject.toml declares, for testing on them (make test-floors).

    python scripts/floors.py python               the oldest Python (requires-python), e.g. 3.10
    python scripts/floors.py constraints [EXTRAS]  pip constraints pinning every dependency,
                                                   and those of the comma-separated EXTRAS,
                                                   to its lower bound (numba==0.59.0, ...)

pyproject.toml stays the one place where the floors are written: every dependency must
have a lower bound (``>=``), and nothing here names a version.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict, List

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# name[extras] >= version, then anything (more specifiers, markers)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_LOWER = re.compile(r">=\s*([0-9][0-9A-Za-z.+!-]*)")


def _project() -> dict:
    try:
        import tomllib
    except ImportError:                 # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            sys.exit("floors.py: needs Python 3.11 or later (tomllib), or tomli")
    with open(PYPROJECT, "rb") as handle:
        return tomllib.load(handle)["project"]


def floor(requirement: str) -> str:
    """``name==version`` for a requirement ``name[extras]>=version...``."""
    match = _REQUIREMENT.match(requirement)
    lower = _LOWER.search(match.group(3)) if match else None
    if not match or not lower:
        raise ValueError(f"pyproject.toml: {requirement!r} declares no lower bound (>=)")
    return f"{match.group(1)}=={lower.group(1)}"


def constraints(extras: List[str]) -> List[str]:
    project = _project()
    requirements = list(project["dependencies"])
    optional: Dict[str, List[str]] = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise ValueError(f"pyproject.toml declares no extra {extra!r}")
        requirements += optional[extra]
    pins: Dict[str, str] = {}
    for requirement in requirements:
        pin = floor(requirement)
        name = pin.split("==")[0].lower().replace("_", "-")
        if pins.get(name, pin) != pin:
            raise ValueError(f"pyproject.toml: two lower bounds for {name}")
        pins[name] = pin
    return list(pins.values())


def python_floor() -> str:
    lower = _LOWER.search(_project()["requires-python"])
    if lower is None:
        raise ValueError("pyproject.toml: requires-python declares no lower bound (>=)")
    return lower.group(1)


def main(argv: List[str]) -> int:
    try:
        if argv[:1] == ["python"] and len(argv) == 1:
            print(python_floor())
        elif argv[:1] == ["constraints"] and len(argv) <= 2:
            extras = [e for e in (argv[1] if len(argv) > 1 else "").split(",") if e]
            print("\n".join(constraints(extras)))
        else:
            print("usage: floors.py python | constraints [EXTRAS]", file=sys.stderr)
            return 2
    except ValueError as exc:
        print(f"floors.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
