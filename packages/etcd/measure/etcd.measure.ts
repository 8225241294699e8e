import { performance } from "node:perf_hooks";
import { ChildMember, eventually } from "@rollcall/conformance";
import { type Coordinator, connect, type SessionState } from "@rollcall/core";
import { type EtcdServer, startEtcd } from "@rollcall/servers";
import { afterAll, describe, it } from "vitest";
import "@rollcall/etcd";
import { freshNamespace, urlFor } from "../test/support/etcd.js";

// Measurements for the README: medians of several runs, printed as they are taken.

const RUNS = Number(process.env.ROLLCALL_MEASURE_RUNS ?? 7);

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const median =
    sorted.length % 2 === 1
      ? at(0.5)
      : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
  return `median ${median.toFixed(1)}, min ${sorted[0]?.toFixed(1)}, p90 ${at(0.9).toFixed(1)}, max ${sorted[sorted.length - 1]?.toFixed(1)} (n=${sorted.length})`;
}

function report(what: string, values: number[], unit = "ms"): void {
  console.log(`MEASURE ${what}: ${stats(values)} ${unit}`);
}

async function metric(server: EtcdServer, pattern: RegExp): Promise<number> {
  let total = 0;
  for (const node of server.nodes) {
    if (!node.running) continue;
    const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (pattern.test(line)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

const servers: EtcdServer[] = [];
afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
});

for (const nodes of [1, 3] as const) {
  describe(`etcd, ${nodes} node(s)`, () => {
    let server: EtcdServer;
    const label = nodes === 1 ? "single node" : "3-node cluster";

    it("starts", async () => {
      server = await startEtcd({ nodes });
      servers.push(server);
    });

    for (const ttl of [2000, 5000]) {
      it(`crash detection (SIGKILL of a member process), sessionTimeout ${ttl}`, async () => {
        const ns = freshNamespace();
        const url = urlFor(server.url, ns, { sessionTimeout: ttl });
        const watcher = await connect(url, { memberId: "watcher" });
        await watcher.createGroup("g");
        const view = await watcher.view("g");
        const samples: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const id = `crash-${run}`;
          const child = new ChildMember({ url, memberId: id, join: [{ group: "g" }], modules: [] });
          await child.ready(20_000);
          await eventually(() => view.has(id), 5000, "member in view");
          // Kill at a random point of the keep-alive cycle.
          await new Promise((r) => setTimeout(r, Math.random() * (ttl / 4)));
          const killedAt = performance.now();
          child.kill();
          await eventually(() => !view.has(id), ttl * 3, "leave seen");
          samples.push(performance.now() - killedAt);
          await child.dispose();
        }
        report(`${label}: crash → leave seen, sessionTimeout ${ttl}`, samples);
        report(
          `${label}: crash → leave seen as a multiple of the TTL, sessionTimeout ${ttl}`,
          samples.map((s) => s / ttl),
          "× TTL",
        );
        await view.close();
        await watcher.close();
      });
    }

    it("join → watcher event, leave → watcher event", async () => {
      const ns = freshNamespace();
      const url = urlFor(server.url, ns);
      const watcher = await connect(url, { memberId: "watcher" });
      const member = await connect(url, { memberId: "m" });
      await watcher.createGroup("g");
      const view = await watcher.view("g");
      const joins: number[] = [];
      const leaves: number[] = [];
      for (let run = 0; run < RUNS * 7; run++) {
        let seen = 0;
        const onChange = () => {
          seen = performance.now();
        };
        view.on("change", onChange);
        const joinAt = performance.now();
        await member.join("g");
        await eventually(() => seen > 0, 5000, "join event");
        joins.push(seen - joinAt);
        seen = 0;
        const leaveAt = performance.now();
        await member.leave("g");
        await eventually(() => seen > 0, 5000, "leave event");
        leaves.push(seen - leaveAt);
        view.off("change", onChange);
      }
      report(`${label}: join() called → join event at the watcher`, joins);
      report(`${label}: leave() called → leave event at the watcher`, leaves);
      await view.close();
      await Promise.all([watcher.close(), member.close()]);
    });

    it("resign → new leader", async () => {
      const ns = freshNamespace();
      const url = urlFor(server.url, ns);
      const a = await connect(url, { memberId: "a" });
      const b = await connect(url, { memberId: "b" });
      const samples: number[] = [];
      for (let run = 0; run < RUNS * 3; run++) {
        const [first, second] = run % 2 === 0 ? [a, b] : [b, a];
        const lead = await first.election("e").campaign();
        const next = second.election("e").campaign();
        // Wait until the second candidate is in the election.
        await eventually(
          async () => (await first.election("e").leaders()).length === 1 && (await candidates(first)) === 2,
          5000,
          "second candidate",
        );
        const resignAt = performance.now();
        await lead.resign();
        const leadership = await next;
        samples.push(performance.now() - resignAt);
        await leadership.resign();
      }
      report(`${label}: resign() called → next candidate's campaign() resolves`, samples);
      await Promise.all([a.close(), b.close()]);
    });

    it("keep-alives and raft writes per second at steady state", async () => {
      for (const ttl of [2000, 10_000]) {
        const ns = freshNamespace();
        const url = urlFor(server.url, ns, { sessionTimeout: ttl });
        const members: Coordinator[] = [];
        for (let i = 0; i < 100; i++) {
          const coord = await connect(url, { memberId: `k${i}` });
          await coord.join("g", { createGroup: true });
          members.push(coord);
        }
        await new Promise((r) => setTimeout(r, ttl));
        const window = 20_000;
        const keepAlives0 = await metric(
          server,
          /^grpc_server_msg_received_total\{grpc_method="LeaseKeepAlive"/,
        );
        const proposals0 = await metric(server, /^etcd_server_proposals_committed_total /);
        await new Promise((r) => setTimeout(r, window));
        const keepAlives =
          (await metric(server, /^grpc_server_msg_received_total\{grpc_method="LeaseKeepAlive"/)) -
          keepAlives0;
        const proposals = (await metric(server, /^etcd_server_proposals_committed_total /)) - proposals0;
        const perThousand = (keepAlives / (window / 1000) / members.length) * 1000;
        // Proposals are counted on every node of a cluster (each applies every entry): per node.
        const writes = proposals / server.nodes.length / (window / 1000);
        console.log(
          `MEASURE ${label}: sessionTimeout ${ttl}: ${perThousand.toFixed(0)} keep-alives/s per 1,000 members (100 members, ${window / 1000} s); raft proposals ${writes.toFixed(2)}/s in total`,
        );
        await Promise.all(members.map((m) => m.close()));
      }
    });

    if (nodes === 3) {
      it("killing the Raft leader: how long sessions stay suspended", async () => {
        const samples: number[] = [];
        let expired = 0;
        for (let run = 0; run < 3; run++) {
          const ns = freshNamespace();
          const url = urlFor(server.url, ns);
          const members: Coordinator[] = [];
          const suspendedAt = new Map<string, number>();
          for (let i = 0; i < 20; i++) {
            const coord = await connect(url, { memberId: `f${i}` });
            await coord.join("g", { createGroup: true });
            coord.on("session", (state: SessionState) => {
              if (state === "suspended") suspendedAt.set(coord.memberId, performance.now());
              if (state === "connected") {
                const since = suspendedAt.get(coord.memberId);
                if (since !== undefined) samples.push(performance.now() - since);
              }
              if (state === "expired") expired++;
            });
            members.push(coord);
          }
          const leader = await server.leader();
          await leader.kill();
          await server.leader();
          await new Promise((r) => setTimeout(r, 6000));
          await leader.start();
          console.log(
            `MEASURE 3-node cluster: leader kill run ${run}: ${suspendedAt.size} of 20 sessions suspended`,
          );
          await Promise.all(members.map((m) => m.close()));
        }
        report("3-node cluster: leader killed → suspended session connected again", samples);
        console.log(`MEASURE 3-node cluster: sessions expired during leader kills: ${expired}`);
      });
    }
  });
}

async function candidates(coord: Coordinator): Promise<number> {
  // Every candidate holds one of 100 seats: leaders() of that view of the election lists them all.
  return (await coord.election("e", { seats: 100 }).leaders()).length;
}
