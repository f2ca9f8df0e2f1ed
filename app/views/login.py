"""The login in front of the whole page, for an app shared on a network.

Streamlit's own login (OpenID Connect) when .streamlit/secrets.toml has an [auth] section, else
a shared password when the server sets TABLEPILOT_APP_PASSWORD, else none (the app then binds
to 127.0.0.1 unless told otherwise: see app/commands/app.py). Nothing else of the page, not even
a work folder, exists for a browser session before it has logged in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import streamlit as st

from app import guard

LOGGED_IN = "tablepilot-logged-in"
LoginMode = Literal["oidc", "password", "none"]


def auth_section() -> Mapping[str, Any] | None:
    """The [auth] section of Streamlit's secrets, if there is one."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all, or an unreadable one: no OIDC login
        return None
    return section if isinstance(section, Mapping) and section else None


def login_mode() -> LoginMode:
    if auth_section() is not None:
        return "oidc"
    if guard.login_password():
        return "password"
    return "none"


def gate() -> bool:
    """True when this browser session may use the page; otherwise draw the login, return False."""
    mode = login_mode()
    if mode == "none":
        return True
    if mode == "oidc":
        return oidc_gate()
    return password_gate()


def user_id() -> str:
    """Who is using the page, as the registry of page states binds tokens to it: the OIDC
    user (issuer and subject, else the e-mail), "password" for the shared password (everyone who
    knows it is one user), "" without a login."""
    mode = login_mode()
    if mode == "password":
        return "password"
    if mode == "none":
        return ""
    try:
        user = st.user.to_dict()
    except Exception:  # no login information at all: nobody
        return "oidc:"
    subject = user.get("sub") or user.get("email") or ""
    return f"oidc:{user.get('iss', '')}:{subject}"


def oidc_gate() -> bool:
    if st.user.get("is_logged_in"):
        with st.sidebar:
            if st.button("Log out", key="logout", icon=":material/logout:"):
                st.logout()
        return True
    st.title("tablepilot")
    if not authlib_installed():
        st.error("This app is set up for Streamlit's login ([auth] in .streamlit/secrets.toml), "
                 "which needs Authlib on the server: pip install Authlib")
        return False
    st.markdown("Log in to use this app.")
    if st.button("Log in", key="login", type="primary", icon=":material/login:"):
        section = auth_section() or {}
        named = [k for k, v in section.items() if isinstance(v, Mapping)]
        st.login(None if "client_id" in section or not named else named[0])
    return False


def authlib_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("authlib") is not None


def client_id() -> str:
    """Whom failed attempts count against: the browser's address. Without one, all such
    browsers share one count (a new session must not mean a fresh set of attempts)."""
    try:
        address = st.context.ip_address
    except Exception:
        address = None
    return f"ip:{address if isinstance(address, str) and address else 'unknown'}"


def password_gate() -> bool:
    if st.session_state.get(LOGGED_IN):
        with st.sidebar:
            if st.button("Log out", key="logout", icon=":material/logout:"):
                st.session_state[LOGGED_IN] = False
                st.rerun()
        return True
    st.title("tablepilot")
    with st.form("login-form"):
        typed = st.text_input("Password", type="password", key="login-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return False
    client = client_id()
    wait = guard.LOGIN_LIMITER.wait_s(client)
    if wait > 0:
        st.error(f"Too many failed attempts: try again in {math.ceil(wait)} s.")
        return False
    if guard.password_matches(typed, guard.login_password()):
        guard.LOGIN_LIMITER.succeeded(client)
        st.session_state[LOGGED_IN] = True
        st.rerun()
    guard.LOGIN_LIMITER.failed(client)
    st.error("Wrong password.")
    return False
