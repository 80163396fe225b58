"""Notify: an analysis record in, one report email out (CONTRACT section 4).

`render` (record -> subject, HTML, text, chart images) and `mime` (-> raw MIME bytes) are pure;
`service` is the edge that reads the DynamoDB stream, keeps the exactly-once marker and calls SES.
"""
