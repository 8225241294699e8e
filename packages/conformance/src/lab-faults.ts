import { setTimeout as sleep } from "node:timers/promises";
import { createNetworkLab, type NetworkLab, networkLabUnavailable, type ServerNode } from "@rollcall/servers";
import type { Fault } from "./options.js";

/**
 * A network lab for a cluster's nodes, or undefined — with the reason on the console — where labs cannot
 * be created here (not root). A cluster started without one provides no `partitionNode` fault, and the
 * kit then says so in place of that test.
 */
export async function labIfAvailable(): Promise<NetworkLab | undefined> {
  const unavailable = await networkLabUnavailable();
  if (unavailable === undefined) return createNetworkLab();
  console.warn(`the cluster runs without a network lab, so no partitionNode fault: ${unavailable}`);
  return undefined;
}

/**
 * The `partitionNode` fault of a cluster whose nodes run in a network lab: cut the leader off from the
 * other nodes and from its clients for `holdMs` (longer than the session timeout, so sessions attached
 * to it must move to survive), heal it, and wait until the cluster has a leader again. Sessions are
 * expected to survive.
 */
export function partitionLeaderFault(cluster: { leader(): Promise<ServerNode> }, holdMs: number): Fault {
  return {
    run: async () => {
      const leader = await cluster.leader();
      await leader.partition();
      await sleep(holdMs);
      await leader.heal();
      await cluster.leader();
    },
    preservesSessions: true,
  };
}

/**
 * The `restartServer` fault of a `@rollcall/servers` server: its first node stopped and started again on the
 * same port and data ({@link ServerNode.restart}).
 *
 * @param preservesSessions - whether sessions survive it (a ZooKeeper or etcd restart within the session
 *   timeout), or members must come back by re-joining (a Redis without persistence, SQL)
 */
export function restartFault(
  server: { readonly nodes: readonly ServerNode[] },
  preservesSessions: boolean,
): Fault {
  const node = server.nodes[0];
  if (!node) throw new Error("restartFault: the server has no node");
  return { run: () => node.restart(), preservesSessions };
}

/**
 * The `killNode` fault of a cluster: kill the leader (SIGKILL), wait until the others have elected a new
 * one, keep the old node down for `downMs` more, then start it again. Sessions are expected to survive.
 */
export function killLeaderFault(cluster: { leader(): Promise<ServerNode> }, downMs: number): Fault {
  return {
    run: async () => {
      const leader = await cluster.leader();
      await leader.kill();
      await cluster.leader();
      if (downMs > 0) await sleep(downMs);
      await leader.start();
    },
    preservesSessions: true,
  };
}
