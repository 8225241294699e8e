/** `--help` texts, one per command. */
export const HELP: Record<string, string> = {
  main: `rollcall — group membership from the terminal

Usage: rollcall <command> [options]

Commands:
  groups                      list the groups
  members <group>             list a group's live members
  leader <election>           show who leads an election
  watch <group>               stream a group's join / update / leave events
  join <group>                stay a member until stopped (a sidecar)
  campaign <election> -- cmd  run cmd only while leading (HA for a singleton, or --seats N)
  lock <name> -- cmd          run cmd while holding a lock
  config get|set|delete|list|watch
                              persistent, versioned configuration (JSON values, compare-and-set)
  react <group> -- cmd        run cmd once per departed member, in one fenced reactor (--status, --release)
  status                      backend, characteristics, session state, round trip
  serve                       live web dashboard, /metrics and health probes (127.0.0.1:7070)
  demo                        crash, freeze and fail-over, live, on the embedded default

Options for every command:
  --url <url>                 backend URL (else $ROLLCALL_URL, else sqlite://./rollcall.db)
  --id <member id>            this process's member id (default: <hostname>-<pid>)
  --json                      machine-readable output (NDJSON for watch)
  -h, --help                  help for a command

Exit status: 0 ok, 1 failure (unknown group, unreachable server, …), 2 bad usage,
3 leadership or lock lost while running a command, 4 a compare-and-set (--if-version) found
another version.`,
  react:
    "Usage: rollcall react <group> [--election NAME] [--grace MS] [--brake FRACTION[/WINDOW_MS]|off] [--reasons expired,left] [--url URL] -- <command …>\n       rollcall react <group> --status [--election NAME] [--json]\n       rollcall react <group> --release [--election NAME]\n\nStands by as a reactor of the group; the one process holding the election reactor.NAME (default:\nthe group) runs the command once for every member incarnation that left the group (by expiry; add\nleft with --reasons), also for departures that happened while no reactor ran. The command gets\nROLLCALL_GROUP, ROLLCALL_MEMBER_ID, ROLLCALL_MEMBER_SEQ, ROLLCALL_MEMBER_METADATA (JSON),\nROLLCALL_LEAVE_REASON, ROLLCALL_IDEMPOTENCY_KEY (memberId@seq), ROLLCALL_ATTEMPT and\nROLLCALL_FENCING_TOKEN. Exit status 0 records the departure as handled (exactly once, fenced); any\nother status retries it with backoff. Like campaign, the command is stopped when leadership may be\nlost, so a departure may run twice (use the idempotency key) but is recorded once.\n\n--grace MS       a member back (same id) within MS cancels its action (a flapping node)\n--brake F/W      more than fraction F of the group leaving within W ms stops all action until\n                 --release or until the group recovers (default 0.5 / two session timeouts); off disables\n--status         prints the stored state: brake, fencing token, pending departures\n--release        releases an engaged brake (from any machine)\n--http ADDR      serves /metrics (with rollcall_reactor_*), /healthz, /readyz, /leaderz on ADDR",
  groups: "Usage: rollcall groups [--url URL] [--json]\n\nLists the groups of the namespace.",
  members:
    "Usage: rollcall members <group> [--url URL] [--json]\n\nLists a group's live members: id, seq, join time, metadata.",
  leader:
    "Usage: rollcall leader <election> [--seats N] [--url URL] [--json]\n\nShows the seat holder(s) of an election. Exit status 1 when nobody leads.",
  watch:
    "Usage: rollcall watch <group> [--url URL] [--json]\n\nStreams a snapshot, then join / update / leave events with timestamps, until interrupted.\n--json prints one JSON object per line.",
  join: "Usage: rollcall join <group> [--id ID] [--meta key=value …] [--no-create] [--http ADDR] [--url URL]\n\nJoins the group (creating it unless --no-create) and stays a member until SIGINT or SIGTERM,\nthen leaves gracefully. Re-joins by itself after a session expiry.\n\n--http ADDR serves /metrics (Prometheus), /healthz, /readyz and /leaderz on ADDR (host:port, or a\nport on 127.0.0.1) while it runs.",
  campaign:
    "Usage: rollcall campaign <election> [--seats N] [--id ID] [--grace MS] [--http ADDR] [--url URL] -- <command …>\n\nRuns the command only while this process holds a seat: it is stopped (SIGTERM, SIGKILL after\n--grace ms) when leadership may be lost — before another candidate can be elected — and started\nagain when leadership comes back. If this process dies or freezes, the command is killed when the\nleadership's validity deadline passes. The command gets ROLLCALL_FENCING_TOKEN and ROLLCALL_ELECTION.\nWhen the command exits by itself, rollcall resigns and exits with its status.\n\n--http ADDR serves /metrics (Prometheus), /healthz, /readyz and /leaderz on ADDR (host:port, or a\nport on 127.0.0.1) while it runs. /leaderz?election=NAME\nanswers 200 only while this process holds a seat: a Service can send traffic to the leader only.",
  lock: "Usage: rollcall lock <name> [--timeout MS] [--id ID] [--grace MS] [--http ADDR] [--url URL] -- <command …>\n\nWaits for the lock, runs the command holding it, releases it, and exits with the command's status\n(3 if the lock was lost meanwhile, 1 with TIMEOUT if not acquired in time).\n\n--http ADDR serves /metrics (Prometheus), /healthz, /readyz and /leaderz on ADDR (host:port, or a\nport on 127.0.0.1) while it runs.",
  serve:
    "Usage: rollcall serve [--listen ADDR] [--keys K1,K2…] [--url URL]\n\nServes the live dashboard (groups, members, events with leave reasons, elections, locks,\nconfiguration stores and their recent changes, the session), /metrics (Prometheus) and /healthz,\n/readyz, /leaderz on ADDR until SIGINT or SIGTERM. ADDR is host:port or a port; default\n127.0.0.1:7070 (loopback only: another address must be given with --listen). Read-only: nothing\non it changes membership, elections, locks or configuration.\n--keys shows which member a consistent hash ring of each group (as a Partitioner) gives each key.",
  config: `Usage: rollcall config <subcommand> … [--url URL] [--json]

  config get <name> <key>                        an entry: key, version, update time, value
  config set <name> <key> <json-value> [--if-version N] [--string]
                                                 writes the value; prints its new version
  config delete <name> <key> [--if-version N]    deletes the entry (exit 0 if there was none)
  config list [<name>] [--prefix P]              the configuration names, or a configuration's
                                                 entries (those whose key starts with P)
  config watch <name> [--prefix P]               streams a snapshot, then every put / delete,
                                                 until interrupted (--json: one JSON object per line)

A configuration is a named, persistent set of entries: they belong to no session and outlive the
process that wrote them. Keys are segments of letters, digits and . _ : @ - separated by /
(scheduler/max_attempts). Values are JSON: 5 is a number, '"5"' a string, '{"a":1}' an object;
text that is not JSON is refused (exit 2) unless --string stores it as a string. A value that
starts with -- goes after --: rollcall config set app motd --string -- "--hello".

--if-version N is a compare-and-set: write or delete only if the key is at version N (set: 0 means
only if the key is absent). Otherwise nothing changes and rollcall exits 4 with VERSION_MISMATCH,
naming the key and the version it found. Versions only grow; --json prints them as strings.

get exits 1 when the key has no entry (--json prints null). A backend without a configuration
store (status shows config none) fails with NOT_SUPPORTED.`,
  status:
    "Usage: rollcall status [--url URL] [--json]\n\nConnects and shows the backend, its characteristics, the session state and a measured round trip.",
  demo: "Usage: rollcall demo [--url URL] [--computes N] [--duration S] [--non-interactive]\n\nStarts compute-service processes and two scheduler candidates, shows members, the leader and the\nevent log live, then kills a compute process (SIGKILL) and shows the detection, kills the leader and\nshows the fail-over, restarts them and shows the re-joins, and ends with a summary of the measured\ntimes. --non-interactive prints a plain log (the default when stdout is not a terminal).",
};
