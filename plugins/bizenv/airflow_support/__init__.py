"""The few helpers that know about Airflow: warehouse connection, run period, outputs, callbacks.

Imported only inside tasks (never at DAG top level) so that DAG parsing stays fast.
"""
