"""The demo API with its throttling raised, served on a free port (printed).

Shared by tests/server/test_nothing_lost.py and benchmarks/test_bench_server.py:
both send far more than API Gateway's default 10000 rps / burst 5000, which
the demo enforces by design.  Run as a script: ``python unthrottled_demo.py``.
"""

import asyncio, logging
from framer.asyncio import serve
from framer.demo import build_demo
from framer.router import Quotas
logging.disable(logging.CRITICAL)
demo = build_demo()
demo.gateway.quotas = Quotas(account_rate_limit=1e6, account_burst_limit=10**6,
                             new_connections_per_second=10_000.0)
demo.gateway.update_stage(demo.api_id, "dev", default_route_settings={
    "throttlingBurstLimit": 10**6, "throttlingRateLimit": 1e6})
async def main():
    async with serve(demo, "127.0.0.1", 0, log_messages=False) as server:
        print(server.port, flush=True)
        await server.serve_forever()
asyncio.run(main())
