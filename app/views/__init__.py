"""Streamlit rendering for the page, one module per panel (data.py holds the Streamlit-free parts)."""
