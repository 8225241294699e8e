import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitForMatch } from "@rollcall/conformance";
import type { DashboardHandler } from "../../src/index.js";

/** A `node:http` server on 127.0.0.1 answering with the dashboard, 404 for the rest. */
export async function serve(
  handler: DashboardHandler,
): Promise<{ server: Server; base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.statusCode = 404;
      res.end("not found\n");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A message of the stream (the snapshot or a delta). */
export type StreamMessage = { type: string } & Record<string, unknown>;

/**
 * An event-stream reader: collects every message and the raw text; `waitFor` waits (with a deadline)
 * for a message matching a predicate.
 */
export class StreamReader {
  readonly messages: StreamMessage[] = [];
  raw = "";
  private buffer = "";
  private readonly wakers = new Set<() => void>();
  readonly done: Promise<void>;
  private abort = new AbortController();

  constructor(url: string) {
    this.done = (async () => {
      try {
        const response = await fetch(url, { signal: this.abort.signal });
        if (!response.body) return;
        const decoder = new TextDecoder();
        for await (const chunk of response.body) {
          const text = decoder.decode(chunk as Uint8Array, { stream: true });
          this.raw += text;
          this.buffer += text;
          let end = this.buffer.indexOf("\n\n");
          while (end !== -1) {
            const block = this.buffer.slice(0, end);
            this.buffer = this.buffer.slice(end + 2);
            for (const line of block.split("\n")) {
              if (line.startsWith("data: "))
                this.messages.push(...(JSON.parse(line.slice(6)) as StreamMessage[]));
            }
            end = this.buffer.indexOf("\n\n");
          }
          for (const wake of [...this.wakers]) wake();
        }
      } catch {
        // aborted
      }
    })();
  }

  waitFor(what: string, predicate: (m: StreamMessage) => boolean, timeout = 15_000): Promise<StreamMessage> {
    return waitForMatch(
      this.wakers,
      () => this.messages.find(predicate),
      timeout,
      () =>
        `no stream message with ${what} within ${timeout} ms; got ${this.messages.map((m) => m.type).join(",")}`,
    );
  }

  close(): Promise<void> {
    this.abort.abort();
    return this.done;
  }
}

/** A raw HTTP request whose body is collected; resolves with status, headers and body. */
export function get(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
