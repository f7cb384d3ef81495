"""The managers' dashboards: `emr dashboard --port P` (or `streamlit run dashboards/app.py`).

Sign-in comes before any page; every page reads the signed-in tenant's rows of the
snapshot the pipeline published. A page that fails shows a message, never a traceback.
"""

import logging
from pathlib import Path

import streamlit as st

from dashboards.auth import VIEWER, current_viewer, end, login_form, still_signed_in
from dashboards.context import context
from dashboards.pages import PAGES

VIEWS = Path(__file__).resolve().parent / "views"
log = logging.getLogger("emr.dashboards")


def main() -> None:
    st.set_page_config(page_title="EMR dashboards", layout="wide")
    ctx = context()
    viewer = current_viewer()
    if viewer is not None and not still_signed_in(ctx, viewer):
        del st.session_state[VIEWER]
        viewer = None
        st.warning("Your session ended; sign in again.")
    if viewer is None:
        st.navigation([st.Page(lambda: login_form(ctx), title="Sign in")], position="hidden").run()
        return
    with st.sidebar:
        st.caption(f"{viewer.email} ({viewer.role.value}), clinic {viewer.tenant_slug}")
        if st.button("Sign out", key="sign_out"):
            end(ctx, viewer)
            del st.session_state[VIEWER]
            st.rerun()
    navigation = st.navigation(
        [st.Page(VIEWS / file, title=title, icon=icon) for file, title, icon in PAGES]
    )
    try:
        navigation.run()
    except Exception:
        # Details go to the server log only (they may carry data); the page says what to do.
        log.exception("dashboard page %s failed", navigation.title)
        st.error("This page could not be shown. Try again; if it persists, tell your admin.")


main()
