/**
 * The quick start: three compute services join `compute`, a watcher prints every change, two
 * schedulers campaign for one seat. Then a compute service crashes (its session expires), the leader
 * resigns, and the standby takes over with a larger fencing token. Runs on `memory://` by default;
 * pass another URL as the first argument (e.g. `zookeeper://127.0.0.1:2181/demo`).
 */
import { type Coordinator, connect, type MembershipEvent } from "@rollcall/core";
import { memorySessions } from "@rollcall/memory";

const url = process.argv[2] ?? "memory://quickstart?sessionTimeout=1000&retryInterval=300";
const started = Date.now();
const log = (line: string) => console.log(`${String(Date.now() - started).padStart(6)} ms  ${line}`);

function describe(event: MembershipEvent): string {
  switch (event.type) {
    case "snapshot":
      return `snapshot: ${event.members.map((m) => m.id).join(", ") || "(empty)"}`;
    case "join":
      return `join    ${event.member.id} ${JSON.stringify(event.member.metadata)}`;
    case "update":
      return `update  ${event.member.id} ${JSON.stringify(event.member.metadata)}`;
    case "leave":
      return `leave   ${event.memberId} (${event.reason})`;
  }
}

async function main(): Promise<void> {
  const watcher = await connect(url, { memberId: "watcher" });
  log(`connected to ${watcher.backend}: ${JSON.stringify(watcher.characteristics)}`);
  await watcher.createGroup("compute").catch(() => {});
  const watching = new AbortController();
  const timings: Record<string, number> = {};
  const seen = new Map<string, number>();
  const watchDone = (async () => {
    for await (const event of watcher.watch("compute", { signal: watching.signal })) {
      log(`watcher  ${describe(event)}`);
      if (event.type === "leave") seen.set(`leave:${event.memberId}`, Date.now());
    }
  })();

  const computes: Coordinator[] = [];
  for (let i = 1; i <= 3; i++) {
    const compute = await connect(url, { memberId: `compute-${i}` });
    await compute.join("compute", { metadata: { cpus: 16 * i, ram: 64 * i } });
    computes.push(compute);
  }
  await computes[0]?.updateMetadata("compute", { cpus: 16, ram: 64, load: 0.7 });

  const schedulers = await Promise.all(
    ["scheduler-a", "scheduler-b"].map((id) => connect(url, { memberId: id })),
  );
  const [a, b] = schedulers as [Coordinator, Coordinator];
  const leading = await a.election("scheduler").campaign();
  log(`election scheduler-a leads with fencing token ${leading.token}`);
  const standby = b.election("scheduler").campaign();

  const view = await a.view("compute");
  log(
    `view     up: ${view
      .members()
      .map((m) => m.id)
      .join(", ")}; isUp(compute-2) = ${view.isUp("compute-2")}`,
  );

  log("crash    compute-2's session expires (as if its process died)");
  const crashAt = Date.now();
  if (watcher.backend === "memory") memorySessions.expire("compute-2");
  else await computes[1]?.close();
  while (!seen.has("leave:compute-2")) await new Promise((r) => setTimeout(r, 10));
  timings["crash → leave seen"] = (seen.get("leave:compute-2") ?? 0) - crashAt;
  await computes[1]?.close();
  log(`view     isUp(compute-2) = ${view.isUp("compute-2")}`);

  log("resign   scheduler-a resigns");
  const resignAt = Date.now();
  await leading.resign();
  const next = await standby;
  timings["resign → new leader"] = Date.now() - resignAt;
  log(
    `election scheduler-b leads with fencing token ${next.token} (> ${leading.token}: ${next.token > leading.token})`,
  );

  await next.resign();
  await view.close();
  for (const c of [...computes, ...schedulers]) await c.close();
  await new Promise((r) => setTimeout(r, 50));
  watching.abort();
  await watchDone;
  await watcher.close();
  log("summary");
  for (const [what, ms] of Object.entries(timings)) console.log(`          ${what}: ${ms} ms`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
