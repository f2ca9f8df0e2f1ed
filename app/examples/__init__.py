"""The bundled example workbook (sales_2025.xlsx) and the scripted-model demo; see make_examples.py."""
