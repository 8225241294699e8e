import { performance } from "node:perf_hooks";
import type { Coordinator } from "@rollcall/core";
import { type Args, option, positional } from "../args.js";
import { memberJson, membersTable, type Print } from "../output.js";

/** `rollcall groups`: every group. */
export async function groupsCommand(coord: Coordinator, args: Args, print: Print): Promise<number> {
  const groups = await coord.groups();
  if (args.flags.has("json")) print(JSON.stringify(groups));
  else print(groups.length === 0 ? "(no groups)" : groups.join("\n"));
  return 0;
}

/** `rollcall members <group>`: the live members as a table or JSON. */
export async function membersCommand(coord: Coordinator, args: Args, print: Print): Promise<number> {
  const members = await coord.members(positional(args, "group"));
  if (args.flags.has("json")) print(JSON.stringify(members.map(memberJson)));
  else print(members.length === 0 ? "(no members)" : membersTable(members));
  return 0;
}

/** `rollcall leader <election>`: the current leader (exit 1 when there is none). */
export async function leaderCommand(coord: Coordinator, args: Args, print: Print): Promise<number> {
  const seats = Number(option(args, "seats") ?? "1");
  const name = positional(args, "election");
  const leaders =
    seats === 1
      ? [await coord.leader(name)].filter((m) => m !== undefined)
      : await coord.election(name, { seats }).leaders();
  if (args.flags.has("json"))
    print(
      JSON.stringify(seats === 1 ? (leaders[0] ? memberJson(leaders[0]) : null) : leaders.map(memberJson)),
    );
  else if (leaders.length === 0) print("(no leader)");
  else print(leaders.map((m) => `${m.id}  token ${m.seq}`).join("\n"));
  return leaders.length === 0 ? 1 : 0;
}

/** `rollcall status`: backend, characteristics, session state and a measured round trip. */
export async function statusCommand(
  coord: Coordinator,
  args: Args,
  print: Print,
  url: string,
): Promise<number> {
  const started = performance.now();
  await coord.groups();
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  const status = {
    url,
    backend: coord.backend,
    memberId: coord.memberId,
    state: coord.state,
    sessionTimeout: coord.sessionTimeout,
    characteristics: coord.characteristics,
    latencyMs,
  };
  if (args.flags.has("json")) print(JSON.stringify(status));
  else {
    print(`url              ${url}`);
    print(`backend          ${status.backend}`);
    print(`session          ${status.state} (timeout ${status.sessionTimeout} ms)`);
    for (const [k, v] of Object.entries(status.characteristics)) print(`${k.padEnd(16)} ${String(v)}`);
    print(`round trip       ${latencyMs} ms`);
  }
  return 0;
}
