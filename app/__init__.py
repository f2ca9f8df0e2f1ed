"""The layer that talks to a person: the Streamlit app and the `tablepilot` CLI."""
