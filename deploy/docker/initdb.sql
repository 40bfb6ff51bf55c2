-- Run once by the postgres image on an empty volume: Optuna's studies beside Dagster's storage.
CREATE DATABASE optuna;
