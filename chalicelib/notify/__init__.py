"""Notify: an analysis record in, one report email out (docs/email.md).

`render` (record -> subject, HTML, text, chart images) and `mime` (-> raw MIME bytes) are pure;
`service` is the edge that reads the DynamoDB stream, keeps the exactly-once marker and calls SES.
"""
