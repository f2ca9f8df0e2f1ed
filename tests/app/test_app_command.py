"""`tablepilot app`: its own options, its protections, the rest goes to `streamlit run`."""

from __future__ import annotations

import subprocess
import sys

from app.cli import build_parser
from app.commands.app import PAGE, launch, streamlit_args


def test_options_are_passed_to_streamlit_run_untouched() -> None:
    options = ["--server.port", "8765", "--server.address", "127.0.0.1",
               "--server.headless", "true"]
    args = streamlit_args(options, env={})
    assert args[:2] == ["run", str(PAGE)] and args[-len(options):] == options
    assert args.count("--server.address") == 1  # the command line's own address wins
    assert "--server.enableXsrfProtection" in args and "--client.disableDataExport" in args
    assert PAGE.name == "streamlit_app.py" and PAGE.is_file()


def test_app_is_listed_in_the_cli_help() -> None:
    assert "start the Streamlit app" in build_parser().format_help()


def test_streamlit_run_help_comes_back_with_its_exit_code(capsys) -> None:
    assert launch(["--help"]) == 0
    assert "--server.port" in capsys.readouterr().out


def test_the_console_script_dispatches_app() -> None:
    done = subprocess.run([sys.executable, "-m", "app.cli", "app", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage: streamlit run" in done.stdout
