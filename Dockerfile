# bizenv on Airflow 3, built from the lock file (the same versions `make test` runs).
FROM python:3.11-slim
ENV UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH AIRFLOW_HOME=/opt/airflow
RUN pip install --no-cache-dir uv
WORKDIR /opt/bizenv
COPY pyproject.toml uv.lock README.md ./
COPY plugins ./plugins
RUN uv sync --frozen --no-dev
COPY dags ./dags
COPY survey_schemas ./survey_schemas
COPY sql ./sql
