import type { ServerCounter } from "./server-counter.js";

/** Sums every sample of a Prometheus counter in a /metrics text. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

/** etcd's `grpc_server_msg_received_total` from /metrics: unary requests and stream messages (lease keep-alives, watch requests). */
export function etcdCounter(clientUrl: string): ServerCounter {
  return {
    label: "gRPC messages received (/metrics grpc_server_msg_received_total)",
    async read() {
      const response = await fetch(`${clientUrl}/metrics`);
      return sumMetric(await response.text(), "grpc_server_msg_received_total");
    },
    async version() {
      const response = await fetch(`${clientUrl}/version`);
      return ((await response.json()) as { etcdserver?: string }).etcdserver ?? "unknown";
    },
    async close() {},
  };
}
