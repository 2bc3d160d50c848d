"""The CLI front end: exit-code table, error rendering, fast start-up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from shipsign import __version__
from shipsign.cli import main
from shipsign.errors import AuthError, InputError, RegistryError, ShipsignError, UnreachableError
from shipsign.present.exitcodes import exit_code_for


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InputError("bad reference"), 2),
        (UnreachableError("no route"), 3),
        (RegistryError("500 from registry"), 3),
        (AuthError("denied", scope="repository:a/b:push"), 3),
        (ShipsignError("plain base"), 4),
        (ValueError("a bug"), 4),
        (KeyError("a bug"), 4),
    ],
)
def test_exit_code_table(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"shipsign {__version__}"


def test_version_command_lists_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"shipsign {__version__}"
    assert "sigstore " in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: shipsign" in capsys.readouterr().err


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from shipsign.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "finally:\n"
        "    import json\n"
        "    heavy = ['requests', 'sigstore', 'rich', 'cryptography', 'github', 'id', 'urllib3']\n"
        "    print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    assert "usage: shipsign" in proc.stdout


def test_installed_console_script_runs() -> None:
    exe = shutil.which(
        "shipsign", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    )
    assert exe is not None, "the shipsign console script is not installed"
    proc = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"shipsign {__version__}"


def test_python_dash_m_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shipsign", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"shipsign {__version__}"


def test_a_caught_bug_in_a_report_exits_4_not_1() -> None:
    from shipsign.present.exitcodes import INTERNAL, NEGATIVE, report_code

    class _Report:
        ok = False
        any_negative = True
        any_unreachable = False

    assert report_code(_Report()) == NEGATIVE
    assert report_code(_Report(), internal=True) == INTERNAL
