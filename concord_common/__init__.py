"""Concord's one small common library: what every service and the gateway share.

Nothing here knows about any one service. Importing this package first makes
psycopg wait green under eventlet (see concord_common.db).
"""
import os

# psycopg 3 picks its wait function at import time; its C implementation blocks
# the eventlet hub, so one slow query would stall every worker in the process.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import warnings

# eventlet announces its maintenance mode on import; we know (see docs/architecture.md).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
