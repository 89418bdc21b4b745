from concord_common.migrate import run_env

run_env()
