"""Reports: results records → JSON, JUnit, Markdown, HTML, SARIF.

Knows nothing of pytest or httpx (enforced by import-linter): it reads records, plain data.
"""
