"""The few helpers that know about Airflow: warehouse connection, run period, outputs, alerts.

`runtime` is imported only inside tasks. `alerts` is imported by the DAG files themselves, for
their callbacks: it loads nothing heavy until a message is sent (the DAG policy test holds it to
that), so DAG parsing stays fast.
"""
