"""The tablepilot page. Start it with `tablepilot app` (or `streamlit run app/streamlit_app.py`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only this folder on the path
    sys.path.insert(0, str(ROOT))

from app.views.page import render  # noqa: E402

render()
