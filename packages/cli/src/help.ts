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
  status                      backend, characteristics, session state, round trip
  serve                       live web dashboard, /metrics and health probes (127.0.0.1:7070)
  demo                        crash, freeze and fail-over, live, on the embedded default

Options for every command:
  --url <url>                 backend URL (else $ROLLCALL_URL, else sqlite://./rollcall.db)
  --id <member id>            this process's member id (default: <hostname>-<pid>)
  --json                      machine-readable output (NDJSON for watch)
  -h, --help                  help for a command

Exit status: 0 ok, 1 failure (unknown group, unreachable server, …), 2 bad usage,
3 leadership or lock lost while running a command.`,
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
    "Usage: rollcall serve [--listen ADDR] [--keys K1,K2…] [--url URL]\n\nServes the live dashboard (groups, members, events with leave reasons, elections, locks, the\nsession), /metrics (Prometheus) and /healthz, /readyz, /leaderz on ADDR until SIGINT or SIGTERM.\nADDR is host:port or a port; default 127.0.0.1:7070 (loopback only: another address must be given\nwith --listen). Read-only: nothing on it changes membership, elections or locks.\n--keys shows which member a consistent hash ring of each group (as a Partitioner) gives each key.",
  status:
    "Usage: rollcall status [--url URL] [--json]\n\nConnects and shows the backend, its characteristics, the session state and a measured round trip.",
  demo: "Usage: rollcall demo [--url URL] [--computes N] [--duration S] [--non-interactive]\n\nStarts compute-service processes and two scheduler candidates, shows members, the leader and the\nevent log live, then kills a compute process (SIGKILL) and shows the detection, kills the leader and\nshows the fail-over, restarts them and shows the re-joins, and ends with a summary of the measured\ntimes. --non-interactive prints a plain log (the default when stdout is not a terminal).",
};
