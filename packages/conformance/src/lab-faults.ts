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
