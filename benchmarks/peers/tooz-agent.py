#!/usr/bin/python3
"""A tooz agent for the rollcall benchmarks: JSON-line commands on stdin, replies and events on stdout.

It drives tooz the way its users do: coordinators started with start(start_heart=True), watchers and
leader election hooks registered with watch_*(), and one loop calling run_watchers() on each of them
every TOOZ_INTERVAL_MS (default 1000). Run it with Debian's /usr/bin/python3 (package python3-tooz).
"""
import json
import os
import resource
import sys
import threading
import time

import tooz
from tooz import coordination

INTERVAL = int(os.environ.get("TOOZ_INTERVAL_MS", "1000")) / 1000.0
out_lock = threading.Lock()
coords = {}        # member id -> coordinator
hooked = set()     # member ids whose run_watchers() the loop calls
tracked = {}       # (member id, group) -> set of member ids the watcher believes are up
elections = {}     # member id -> (election, callback)
state_lock = threading.RLock()


def now_ms():
    return time.time() * 1000.0


def send(message):
    line = json.dumps(message)
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def b(text):
    return text.encode("utf-8")


def s(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def connect(args):
    started = now_ms()
    for member_id in args["memberIds"]:
        coord = coordination.get_coordinator(args["url"], b(member_id))
        coord.start(start_heart=True)
        with state_lock:
            coords[member_id] = coord
    return {"startedAt": started, "endedAt": now_ms(), "sessionTimeout": args.get("sessionTimeout", 0)}


def ensure_group(coord, group):
    try:
        coord.create_group(b(group)).get()
    except coordination.GroupAlreadyExist:
        pass


def join(args):
    started = now_ms()
    metadata = json.dumps(args.get("metadata") or {}).encode("utf-8")
    for member_id in args.get("memberIds") or list(coords):
        coord = coords[member_id]
        ensure_group(coord, args["group"])
        coord.join_group(b(args["group"]), capabilities=metadata).get()
    return {"startedAt": started, "endedAt": now_ms()}


def update(args):
    started = now_ms()
    metadata = json.dumps(args.get("metadata") or {}).encode("utf-8")
    coords[args["memberId"]].update_capabilities(b(args["group"]), metadata).get()
    return {"startedAt": started, "endedAt": now_ms()}


def leave(args):
    started = now_ms()
    coords[args["memberId"]].leave_group(b(args["group"])).get()
    return {"startedAt": started, "endedAt": now_ms()}


def watch(args, emit=True):
    member_id, group = args["memberId"], args["group"]
    coord = coords[member_id]
    ensure_group(coord, group)
    key = (member_id, group)

    def on_join(event):
        with state_lock:
            tracked[key].add(s(event.member_id))
        if emit:
            send({"event": "watch", "type": "join", "group": group, "memberId": s(event.member_id),
                  "at": now_ms()})

    def on_leave(event):
        with state_lock:
            tracked[key].discard(s(event.member_id))
        if emit:
            send({"event": "watch", "type": "leave", "group": group, "memberId": s(event.member_id),
                  "reason": "unknown", "at": now_ms()})

    snapshot = set(s(m) for m in coord.get_members(b(group)).get())
    with state_lock:
        tracked[key] = snapshot
    coord.watch_join_group(b(group), on_join)
    coord.watch_leave_group(b(group), on_leave)
    with state_lock:
        hooked.add(member_id)
    if emit:
        send({"event": "watch", "type": "snapshot", "group": group, "size": len(snapshot), "at": now_ms()})
    return {"size": len(snapshot), "at": now_ms()}


def view(args):
    """A view is what a tooz user keeps: the membership known from the watch callbacks."""
    started = now_ms()
    size = watch(args, emit=False)["size"]
    return {"startedAt": started, "endedAt": now_ms(), "size": size}


def view_check(args):
    member_id, group = args["memberId"], args["group"]
    listed = set(s(m) for m in coords[member_id].get_members(b(group)).get())
    with state_lock:
        seen = set(tracked.get((member_id, group), set()))
    missing = sorted(listed - seen)
    extra = sorted(seen - listed)
    return {"equal": not missing and not extra, "viewSize": len(seen), "membersSize": len(listed),
            "missing": missing[:5], "extra": extra[:5], "changes": -1}


def campaign(args):
    member_id, election = args["memberId"], args["election"]
    coord = coords[member_id]

    def on_elected(event):
        send({"event": "elected", "memberId": member_id, "at": now_ms()})

    coord.watch_elected_as_leader(b(election), on_elected)
    with state_lock:
        elections[member_id] = (election, on_elected)
        hooked.add(member_id)
    return {"at": now_ms()}


def resign(args):
    member_id = args["memberId"]
    coord = coords[member_id]
    election, callback = elections.pop(member_id)
    started = now_ms()
    coord.unwatch_elected_as_leader(b(election), callback)
    try:
        coord.stand_down_group_leader(b(election))
        how = "stand_down_group_leader"
    except tooz.NotImplemented:
        # The Redis driver has no stand_down_group_leader(): stopping the coordinator releases its locks.
        coord.stop()
        coord.start(start_heart=True)
        how = "stop() and start()"
    return {"startedAt": started, "endedAt": now_ms(), "how": how}


churn_joined = {}  # member id -> whether it is in the churn group (kept across rounds)


def churn(args):
    group, deadline = args["group"], time.time() + args["durationMs"] / 1000.0
    counts = {"joins": 0, "leaves": 0, "errors": 0, "firstError": None}
    counts_lock = threading.Lock()
    ensure_group(coords[args["memberIds"][0]], group)

    def run(member_id):
        coord, joined = coords[member_id], churn_joined.get(member_id, False)
        while time.time() < deadline:
            try:
                if joined:
                    coord.leave_group(b(group)).get()
                else:
                    coord.join_group(b(group)).get()
                with counts_lock:
                    counts["leaves" if joined else "joins"] += 1
                joined = not joined
            except Exception as error:  # noqa: BLE001 - counted and reported
                with counts_lock:
                    counts["errors"] += 1
                    if counts["firstError"] is None:
                        counts["firstError"] = repr(error)
                time.sleep(0.02)
        churn_joined[member_id] = joined

    started = now_ms()
    threads = [threading.Thread(target=run, args=(m,)) for m in args["memberIds"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts.update({"startedAt": started, "endedAt": now_ms()})
    return counts


def stats(_args):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpuSeconds": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024}


def close(args):
    for member_id in args.get("memberIds") or list(coords):
        coord = coords.pop(member_id, None)
        with state_lock:
            hooked.discard(member_id)
        if coord is not None:
            try:
                coord.stop()
            except Exception:  # noqa: BLE001 - best effort at the end of a scenario
                pass
    return {}


COMMANDS = {"connect": connect, "join": join, "update": update, "leave": leave, "watch": watch,
            "view": view, "viewCheck": view_check, "campaign": campaign, "resign": resign, "churn": churn,
            "stats": stats, "close": close}


def watcher_loop():
    while True:
        started = time.time()
        with state_lock:
            members = [m for m in hooked if m in coords]
        for member_id in members:
            try:
                coords[member_id].run_watchers()
            except Exception as error:  # noqa: BLE001 - reported, the loop goes on as a service's would
                send({"event": "error", "where": "run_watchers", "message": repr(error), "at": now_ms()})
        time.sleep(max(0.0, INTERVAL - (time.time() - started)))


def handle(request):
    try:
        result = COMMANDS[request["cmd"]](request)
        send({"id": request["id"], "ok": True, "result": result})
    except Exception as error:  # noqa: BLE001 - every failure goes back to the harness
        send({"id": request["id"], "ok": False, "error": "%s: %s" % (type(error).__name__, error)})


def main():
    threading.Thread(target=watcher_loop, daemon=True).start()
    send({"event": "ready", "pid": os.getpid(), "at": now_ms()})
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            # churn blocks for its duration; everything else is quick
            threading.Thread(target=handle, args=(request,), daemon=True).start()
    close({})
    os._exit(0)


if __name__ == "__main__":
    main()
