# Source this to use the project's local Airflow (SQLite metadata under var/airflow):
#   source scripts/airflow-env.sh && airflow dags list
_bizenv_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="$_bizenv_root/var/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$_bizenv_root/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$_bizenv_root/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export PATH="$_bizenv_root/.venv/bin:$PATH"
mkdir -p "$AIRFLOW_HOME"
unset _bizenv_root
