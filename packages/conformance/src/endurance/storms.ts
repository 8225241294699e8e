import type { EnduranceStats, EnduranceTarget, Storm, StormNode } from "./options.js";

/** What {@link serverStorms} needs of a `@rollcall/servers` server. */
export interface StormServer {
  readonly nodes: readonly StormNode[];
}

/**
 * The endurance suite's storms for a real server: the server paused (SIGSTOP) for a quarter of the
 * session timeout, then killed and restarted on the same port and data; on a cluster, one node killed
 * and started again after two session timeouts.
 */
export function serverStorms(server: StormServer, sessionTimeout: number): Storm[] {
  const [first, second] = server.nodes;
  if (!first) return [];
  const pause = Math.round(sessionTimeout / 4);
  const storms: Storm[] = [
    {
      name: `pause ${pause} ms`,
      run: async () => {
        first.pause();
        await new Promise((r) => setTimeout(r, pause));
        first.resume();
      },
    },
  ];
  if (second) {
    storms.push({
      name: "kill one cluster node",
      run: async () => {
        await second.kill();
        await new Promise((r) => setTimeout(r, 2 * sessionTimeout));
        await second.start();
      },
    });
  } else {
    storms.push({
      name: "kill and restart",
      run: async () => {
        await first.kill();
        await first.start();
      },
    });
  }
  return storms;
}

/** What {@link serverTarget} needs: a `@rollcall/servers` server. */
export interface EnduranceServer extends StormServer {
  readonly url: string;
  stats(): Promise<EnduranceStats>;
  close(): Promise<void>;
}

/**
 * The endurance target of a `@rollcall/servers` server: its URL, its {@link serverStorms}, its
 * `stats()`, and `close()`.
 *
 * @example
 * ```ts
 * runEndurance({ name: "redis", setup: async () => serverTarget(await startRedis(), 2000) });
 * ```
 */
export function serverTarget(server: EnduranceServer, sessionTimeout: number): EnduranceTarget {
  return {
    url: server.url,
    storms: serverStorms(server, sessionTimeout),
    stats: () => server.stats(),
    close: () => server.close(),
  };
}
