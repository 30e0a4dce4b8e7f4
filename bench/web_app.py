"""gunicorn 'bench.web_app:get_app()': the product's app with the bench_noop job type registered."""
from __future__ import annotations

import falcon


def get_app() -> falcon.App:
    """api.app.get_app() after bench.noop_tasks registered POST /api/jobs/bench-noop."""
    import bench.noop_tasks  # noqa: F401  registers the job type on tasks
    from api.app import get_app as product_app

    return product_app()
