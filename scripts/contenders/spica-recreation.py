#!/usr/bin/python3
"""A RE-CREATION, for scripts/bench, of the logic of Spica's replication controller
(spica-engine/spica, apps/mongoreplicationcontroller/src/main.ts) in its --nodes mode, the Job
mongo-rs-bootstrap replaces, as the project's notes on prior art describe it. Written for
this benchmark in Python with pymongo; not Spica's code.

    spica-recreation.py HOST:PORT[,HOST:PORT...]

- The whole step is tried up to 5 times (--max-retry-connection), 3 s apart
  (--wait-before-retry), and retried only when connecting failed ("connection attempt failed",
  "ENOTFOUND"); any other error ends the run with exit 1.
- The step: rs.status() on the first node. If the set is not initiated (NotYetInitialized),
  rs.initiate with every node, _id = its index in the list. If it exists, rs.reconfig with the
  full list and {force: true}, on every run, without comparing (version = current + 1, as
  mongosh's rs.reconfig sets it).
- No per-node wait and no check for a primary afterwards: exit 0 once the command succeeded.

The controller runs each step as a `mongosh` child process; this re-creation sends the same
commands with pymongo from one process, so it leaves out mongosh's start-up (Node.js, about half
a second or more per call), which only makes it faster than the real controller.
"""
import sys
import time

from pymongo import MongoClient
from pymongo.errors import ConnectionFailure, OperationFailure

SET_NAME = "rs0"
MAX_RETRY_CONNECTION = 5
WAIT_BEFORE_RETRY = 3.0
NOT_YET_INITIALIZED = 94


def step(nodes):
    client = MongoClient(nodes[0], directConnection=True, serverSelectionTimeoutMS=2000)
    try:
        config = {"_id": SET_NAME, "members": [{"_id": i, "host": host} for i, host in enumerate(nodes)]}
        try:
            client.admin.command("replSetGetStatus")
        except OperationFailure as error:
            if error.code != NOT_YET_INITIALIZED:
                raise
            client.admin.command("replSetInitiate", config)
            return
        current = client.admin.command("replSetGetConfig")["config"]
        config["version"] = current["version"] + 1
        config["protocolVersion"] = current.get("protocolVersion", 1)
        client.admin.command("replSetReconfig", config, force=True)
    finally:
        client.close()


def main():
    nodes = sys.argv[1].split(",")
    for attempt in range(1, MAX_RETRY_CONNECTION + 1):
        try:
            step(nodes)
            return
        except ConnectionFailure as error:
            print(f"spica-recreation: attempt {attempt}: connection attempt failed: {error}", file=sys.stderr)
            if attempt < MAX_RETRY_CONNECTION:
                time.sleep(WAIT_BEFORE_RETRY)
        except OperationFailure as error:
            sys.exit(f"spica-recreation: {error}")
    sys.exit(1)


if __name__ == "__main__":
    main()
