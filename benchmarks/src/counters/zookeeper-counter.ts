import { zookeeperFourLetterWord } from "@rollcall/servers";
import type { ServerCounter } from "./server-counter.js";

/** ZooKeeper's `mntr` `zk_packets_received`: every request and ping a client sent. */
export function zookeeperCounter(host: string, port: number): ServerCounter {
  return {
    label: "packets received (mntr zk_packets_received, pings included)",
    async read() {
      const text = await zookeeperFourLetterWord(port, "mntr", 2000, host);
      const match = /^zk_packets_received\s+(\d+)/m.exec(text);
      if (!match) throw new Error("mntr has no zk_packets_received");
      return Number(match[1]);
    },
    async version() {
      const text = await zookeeperFourLetterWord(port, "srvr", 2000, host);
      return /^Zookeeper version: ([^,\s-]+)/m.exec(text)?.[1] ?? "unknown";
    },
    async close() {},
  };
}
