-- The bizenv warehouse lives beside Airflow's metadata database, never inside it.
CREATE USER bizenv WITH PASSWORD 'bizenv';
CREATE DATABASE bizenv OWNER bizenv;
