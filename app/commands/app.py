"""`tablepilot app [--host HOST] [--port PORT] [--no-login] [--model SPEC] [STREAMLIT OPTIONS]`:
start the page (--model: a model spec string that every browser session uses, or a bare model
name at the configured endpoint).

The app listens on 127.0.0.1 (this machine only) unless told otherwise: `--host 0.0.0.0` (or
`--server.address`) shares it on the network, and then a login must be configured
(TABLEPILOT_APP_PASSWORD, or an [auth] section in .streamlit/secrets.toml for Streamlit's own
OpenID Connect login), else the command refuses to start unless `--no-login` says it is meant;
a shared app also sets TABLEPILOT_APP_LOCK_MODEL=1 unless the environment sets it.
XSRF protection and CORS stay on, uploads are capped at table_io's file limit, tracebacks show
the exception's type only and tables have no built-in (formula-unsafe) CSV export. Every other
option goes to `streamlit run` untouched, e.g. `--server.headless true`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "streamlit_app.py"
DEFAULT_HOST = "127.0.0.1"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
# Options that must stay on: a command line that turns one off is refused.
REQUIRED_ON = ("server.enableXsrfProtection", "server.enableCORS")
LOCK_MODEL = "TABLEPILOT_APP_LOCK_MODEL"
FALSE = {"false", "0", "no", "off"}


def upload_limit_mb() -> int:
    from table_io import Limits

    return max(1, Limits().max_file_bytes // 2**20)


def hardening() -> dict[str, str]:
    """The options `tablepilot app` sets unless its command line sets them itself."""
    return {
        "server.enableXsrfProtection": "true",
        "server.enableCORS": "true",
        "server.maxUploadSize": str(upload_limit_mb()),
        "server.enableStaticServing": "false",
        "client.showErrorDetails": "type",
        "client.disableDataExport": "true",
        "client.toolbarMode": "viewer",
        "browser.gatherUsageStats": "false",
    }


class AppCommandError(ValueError):
    """A `tablepilot app` command line that would start an unsafe server."""


def option_value(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in a streamlit command line (last wins)."""
    found = None
    flag = f"--{name}"
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(flag + "="):
            found = arg.split("=", 1)[1]
    return found


def known_options() -> set[str] | None:
    """The config options of the installed streamlit (None when it cannot say)."""
    try:
        from streamlit import config

        return set(config.get_config_options())
    except Exception:
        return None


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def login_configured(env: dict[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Is a login set up for the page: a shared password, or Streamlit's [auth] section?"""
    env = dict(os.environ if env is None else env)
    if env.get("TABLEPILOT_APP_PASSWORD"):
        return True
    for folder in (cwd or Path.cwd(), Path.home()):
        secrets = folder / ".streamlit" / "secrets.toml"
        try:
            if tomllib.loads(secrets.read_text(encoding="utf-8")).get("auth"):
                return True
        except (OSError, ValueError):
            continue
    return False


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="tablepilot app", add_help=False, allow_abbrev=False)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", default=None)
    parser.add_argument("--no-login", action="store_true")
    parser.add_argument("--model", default=None)
    return parser.parse_known_args(argv)


def bind_host(argv: list[str], env: dict[str, str]) -> str:
    """Where the app listens: --host, else --server.address, else STREAMLIT_SERVER_ADDRESS,
    else 127.0.0.1 (this machine only)."""
    ours, rest = parse(argv)
    return (ours.host or option_value(rest, "server.address")
            or env.get("STREAMLIT_SERVER_ADDRESS") or DEFAULT_HOST)


def streamlit_args(argv: list[str], env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> list[str]:
    """The `streamlit` command line that `tablepilot app ARGV` runs (AppCommandError when the
    command line would turn a protection off or share the app without a login)."""
    env = dict(os.environ if env is None else env)
    ours, rest = parse(argv)
    for name in REQUIRED_ON:
        value = option_value(rest, name)
        if value is not None and value.strip().lower() in FALSE:
            raise AppCommandError(f"--{name} stays on in tablepilot app (it protects the "
                                  "app's users from other web pages)")
    host = bind_host(argv, env)
    if not is_loopback(host) and not ours.no_login and not login_configured(env, cwd):
        raise AppCommandError(
            f"--host {host} shares the app on the network, and no login is configured: set "
            "TABLEPILOT_APP_PASSWORD, or an [auth] section in .streamlit/secrets.toml, or pass "
            "--no-login if anyone who can reach this address may use the app and its model")
    options = {"server.address": host, **hardening()}
    if ours.port:
        options["server.port"] = ours.port
    known = known_options()
    args = ["run", str(PAGE)]
    for name, value in options.items():
        if option_value(rest, name) is None and (known is None or name in known):
            args += [f"--{name}", value]
    return args + rest


def shared_env(argv: list[str], env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment defaults for a shared app: browsers may not choose the model endpoint
    (TABLEPILOT_APP_LOCK_MODEL=1) unless the server's configuration says otherwise."""
    env = dict(os.environ if env is None else env)
    if is_loopback(bind_host(argv, env)) or LOCK_MODEL in env:
        return {}
    return {LOCK_MODEL: "1"}


def model_env(argv: list[str]) -> dict[str, str]:
    """The environment `--model SPEC` sets: a spec string (local:, openai:NAME@URL,
    scripted:PATH) fixes the model for every browser (TABLEPILOT_APP_MODEL); a bare name is the
    model at the configured endpoint (TABLEPILOT_MODEL). A bad spec raises ModelSpecError."""
    from agent.models.spec import looks_misspelt, parse_spec, spec_prefix, spec_string

    ours, _ = parse(argv)
    model = (ours.model or "").strip()
    if not model:
        return {}
    if spec_prefix(model) or looks_misspelt(model):
        from app.state import MODEL_ENV

        return {MODEL_ENV: spec_string(parse_spec(model))}
    return {"TABLEPILOT_MODEL": model}


def warnings(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ if env is None else env)
    ours, _ = parse(argv)
    notes = []
    password = env.get("TABLEPILOT_APP_PASSWORD", "")
    if password and len(password) < 12:
        notes.append("TABLEPILOT_APP_PASSWORD is shorter than 12 characters: choose a longer one")
    if ours.no_login and not login_configured(env):
        notes.append("--no-login: anyone who can reach this address may use the app and the "
                     "model configured on this server")
    return notes


def launch(argv: list[str]) -> int:
    """Run `streamlit run <page> ...` in this process (a kill of this process stops the server)."""
    try:
        args = streamlit_args(argv)
    except AppCommandError as exc:
        print(f"tablepilot app: error: {exc}", file=sys.stderr)
        return 2
    os.environ.update(model_env(argv))  # a bad --model raises ModelSpecError: app.cli prints it
    for note in warnings(argv):
        print(f"tablepilot app: warning: {note}", file=sys.stderr)
    for name, value in shared_env(argv).items():
        os.environ[name] = value
        print(f"tablepilot app: shared on the network: {name}={value} (browsers use the "
              f"model this server is configured with; set {name}=0 to let them choose)",
              file=sys.stderr)
    try:
        from streamlit.web import cli as streamlit_cli
    except ModuleNotFoundError:
        print("error: the app needs streamlit: pip install 'tablepilot[app]'", file=sys.stderr)
        return 2
    try:
        streamlit_cli.main(args=args, prog_name="streamlit")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "app",
        help="start the Streamlit app (options go to `streamlit run`)",
        description="Start the chat-with-your-workbook page on 127.0.0.1. --host 0.0.0.0 shares "
        "it (a login is then required: TABLEPILOT_APP_PASSWORD or [auth] in "
        ".streamlit/secrets.toml, or --no-login). --model SPEC fixes the model (local:NAME, "
        "openai:NAME@URL, scripted:PATH). Other options go to `streamlit run`.",
        # app.cli's with_examples, spelt out: app.cli imports this module to launch the app
        epilog="examples:\n  tablepilot app\n  tablepilot app --port 8502 --model "
               "openai:Qwen/Qwen2.5-7B-Instruct@http://gpu:8000/v1\n"
               "  TABLEPILOT_APP_PASSWORD=... tablepilot app --host 0.0.0.0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return launch([])
