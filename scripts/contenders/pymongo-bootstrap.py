#!/usr/bin/python3
"""A careful hand-written replica-set bootstrap script, as a competent user writes one with
pymongo, for scripts/bench to measure mongo-rs-bootstrap against.

    pymongo-bootstrap.py HOST:PORT[,HOST:PORT...]

1. Poll each member every 100 ms (`hello`) until it answers.
2. Unless a member already reports a set, replSetInitiate on the first member with every
   member (the 8th and later with votes 0 and priority 0: mongod allows 7 voters);
   AlreadyInitialized counts as done.
3. Poll the first member every 100 ms until a writable primary is seen; when the first member
   is SECONDARY and knows no primary, send it replSetStepUp instead of waiting out mongod's
   10 s election timeout.

Exit 0 at the writable primary, 1 on an error or after 60 s. A member that does not answer yet:
pymongo's own monitor re-checks it every 500 ms (minHeartbeatFrequencyMS) while a command
waits up to 2 s for it, so there the monitor sets the pace, not the script's 100 ms.
"""
import sys
import time

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

SET_NAME = "rs0"
POLL = 0.1
MAX_VOTERS = 7
ALREADY_INITIALIZED = 23


def main():
    hosts = sys.argv[1].split(",")
    deadline = time.monotonic() + 60
    clients = {host: MongoClient(host, directConnection=True, serverSelectionTimeoutMS=2000, connectTimeoutMS=1000)
               for host in hosts}

    def hello(host):
        return clients[host].admin.command("hello")

    def wait(what):
        if time.monotonic() > deadline:
            sys.exit(f"pymongo-bootstrap: gave up waiting for {what}")
        time.sleep(POLL)

    replies = {}
    for host in hosts:
        while host not in replies:
            try:
                replies[host] = hello(host)
            except PyMongoError:
                wait(host)

    if not any("setName" in reply for reply in replies.values()):
        members = [{"_id": i, "host": host, **({} if i < MAX_VOTERS else {"votes": 0, "priority": 0})}
                   for i, host in enumerate(hosts)]
        try:
            clients[hosts[0]].admin.command("replSetInitiate", {"_id": SET_NAME, "members": members})
        except OperationFailure as error:
            if error.code != ALREADY_INITIALIZED:
                sys.exit(f"pymongo-bootstrap: replSetInitiate: {error}")

    while True:
        try:
            reply = hello(hosts[0])
            if reply.get("isWritablePrimary"):
                break
            primary = reply.get("primary")
            if primary in clients and hello(primary).get("isWritablePrimary"):
                break
            if reply.get("secondary") and not primary:
                clients[hosts[0]].admin.command("replSetStepUp")
                continue
        except PyMongoError:
            pass  # not yet: an election running, a member restarting
        wait("a writable primary")
    for client in clients.values():
        client.close()


if __name__ == "__main__":
    main()
