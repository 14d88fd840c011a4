"""scripts/debian-package.sh, the one "install a Debian package when missing" of the setup
scripts (setup-browser.sh, setup-mail-server.sh): an installed program is left alone, and a
missing one without root gives the command to run and fails, installing nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def ensure(program: str, tmp_path: Path, *, uid: str) -> subprocess.CompletedProcess[str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    fake_id = fake_bin / "id"  # who the script thinks it runs as
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n")
    fake_id.chmod(0o755)
    script = (
        f'source "{REPO}/scripts/debian-package.sh"; '
        f'ensure_debian_package setup-test "{program}" some-package "the tests"'
    )
    return subprocess.run(
        ["bash", "-c", script],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_an_installed_program_is_left_alone(tmp_path: Path) -> None:
    done = ensure("/bin/sh", tmp_path, uid="1000")
    assert done.returncode == 0
    assert done.stdout == "setup-test: /bin/sh is installed\n"


def test_a_missing_program_without_root_says_what_to_run_and_fails(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-program"
    done = ensure(str(missing), tmp_path, uid="1000")
    assert done.returncode == 1
    assert done.stderr == (
        "setup-test: the tests need Debian's some-package: sudo apt-get install -y some-package\n"
    )
    assert "installing" not in done.stdout and not missing.exists()


def test_both_setup_scripts_use_it() -> None:
    for name in ("setup-browser.sh", "setup-mail-server.sh"):
        text = (REPO / "scripts" / name).read_text()
        assert 'source "$(dirname "$0")/debian-package.sh"' in text, name
        assert "apt-get" not in text, name
