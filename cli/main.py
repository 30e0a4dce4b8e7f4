"""`budget-assist`: the admin command, an entry point like the web's get_app: it builds the services itself."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from cli import commands, doctor
from core.config import Config, ConfigError
from models.jobs import JOB_STATUSES


def parser() -> argparse.ArgumentParser:
    """The command line: subcommands with their arguments."""
    top = argparse.ArgumentParser(prog="budget-assist", description="Administer budget-assist from the shell "
                                  "(works with the web process down; reads DATA_DIR, DATABASE_URL, QUEUE_URL).")
    top.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    top.add_argument("-v", "--verbose", action="store_true", help="show the service's log lines on stderr")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    jobs = sub.add_parser("jobs", help="list, show, cancel, retry or start jobs")
    jsub = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = jsub.add_parser("list", help="jobs newest first (the API's filters)")
    listing.add_argument("--budget", dest="budget_id")
    listing.add_argument("--type", dest="type_name")
    listing.add_argument("--status", choices=JOB_STATUSES)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--cursor")
    for action, text in (("show", "one job with its steps and events"),
                         ("cancel", "cancel a queued job, or ask a running one to stop"),
                         ("retry", "start a job again with the same kind, budget and inputs")):
        p = jsub.add_parser(action, help=text)
        p.add_argument("job_id", metavar="ID")
    start = jsub.add_parser("start", help="start a job of KIND (as POST /api/jobs/KIND)")
    start.add_argument("kind", metavar="KIND")
    start.add_argument("--budget", dest="budget_id", required=True)
    start.add_argument("--full-resync", action="store_true")
    start.add_argument("--suggestion", dest="suggestion_ids", action="append", metavar="SUGGESTION_ID",
                       help="suggestions-retry: one suggestion; suggestions-apply: repeat for each")
    start.add_argument("--input", dest="inputs", action="append", metavar="NAME=VALUE",
                       help="any input the kind declares (GET /api/job-types), VALUE as JSON or text")

    sub.add_parser("budgets", help="budgets with their last sync, next scheduled sync and pending suggestions")
    sub.add_parser("workers", help="worker processes and whether each is alive")
    purge = sub.add_parser("purge", help="delete finished jobs older than DAYS")
    purge.add_argument("--older-than", dest="days", type=int, required=True, metavar="DAYS")
    sub.add_parser("migrate", help="apply pending database migrations and seed the demo budget")
    sub.add_parser("doctor", help="check configuration, database, queue, Actual server and workers")
    token = sub.add_parser("token", help="API tokens for scripts: create NAME (printed once) | list | revoke ID")
    token.add_argument("token_args", nargs=argparse.REMAINDER, metavar="create NAME | list | revoke ID")
    return top


def open_services(config: Config) -> commands.Services:
    """The services over this machine's database and queue; jobs started here go to `tasks.run_job`."""
    from models.db import database, open_database
    import tasks  # declares the tasks on this process's Huey instance for QUEUE_URL: jobs started here run there
    from wiring.services import build_services

    open_database(config.database_url, pool_size=2)
    database.connect(reuse_if_open=True)
    return build_services(config, tasks.worker_tasks.queue)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one admin command; 0 on success, 1 when a check or action failed, 2 on a usage error."""
    from wiring.services import prepare

    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "doctor":
        return doctor.run(json_out=args.json)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"budget-assist: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "token":
        from wiring.manage import main as manage

        return manage(["token", *args.token_args])
    return commands.run(args, config, open_services=open_services, prepare=prepare, verbose=args.verbose)

