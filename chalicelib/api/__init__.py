"""The report archive's read API: the latest analyses, each report, each symbol's history.

`query` (paging, validation, the JSON shapes) and `pages` (the HTML) are pure; `archive` is the
DynamoDB/S3 adapter; `service` joins them for the routes in `app.py`. See docs/api.md.
"""
