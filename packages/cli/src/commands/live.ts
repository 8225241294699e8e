import type { Coordinator } from "@rollcall/core";
import { type Args, option, positional } from "../args.js";
import { httpAddress, startHttpSidecar } from "../http-sidecar.js";
import { eventJson, eventLine, type Print, parseMeta } from "../output.js";

/** `rollcall watch <group>`: a live stream of events, until stopped. */
export async function watchCommand(
  coord: Coordinator,
  args: Args,
  print: Print,
  stop: AbortSignal,
): Promise<number> {
  const group = positional(args, "group");
  const json = args.flags.has("json");
  for await (const event of coord.watch(group, { signal: stop })) {
    print(json ? JSON.stringify(eventJson(event)) : eventLine(event));
  }
  return 0;
}

/**
 * `rollcall join <group>`: stays a member until SIGINT/SIGTERM, then leaves gracefully — a sidecar for
 * services not written in JavaScript. Session changes and re-joins are reported on stderr.
 */
export async function joinCommand(
  coord: Coordinator,
  args: Args,
  print: Print,
  stop: AbortSignal,
  report: Print,
): Promise<number> {
  const group = positional(args, "group");
  const address = await httpAddress(args);
  const metadata = parseMeta(args.options.get("meta") ?? []);
  coord.on("session", (state, previous) => report(`rollcall: session ${previous} → ${state}`));
  coord.on("rejoined", (groups) => report(`rollcall: re-joined ${groups.join(", ")}`));
  const member = await coord.join(group, { metadata, createGroup: !args.flags.has("no-create") });
  print(
    `joined ${group} as ${member.id} (seq ${member.seq})${option(args, "meta") ? ` ${JSON.stringify(metadata)}` : ""}`,
  );
  const http = await startHttpSidecar(coord, address, { groups: [group] }, report);
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener("abort", () => resolve(), { once: true });
  });
  await http.close();
  await coord.close();
  print(`left ${group}`);
  return 0;
}
