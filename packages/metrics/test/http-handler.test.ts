import { createServer, type Server } from "node:http";
import { connect as connectTcp } from "node:net";
import { eventually, randomId } from "@rollcall/conformance";
import { type Coordinator, connect } from "@rollcall/core";
import "@rollcall/memory";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  coordinatorMetrics,
  healthProbes,
  httpHandler,
  listenHttp,
  parsePrometheusText,
  sampleValue,
} from "../src/index.js";
import { request } from "./support/scrape.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
});

async function coordinator(): Promise<Coordinator> {
  const coord = await connect(`memory://${randomId("store")}`, { memberId: randomId("m") });
  cleanups.push(() => coord.close());
  return coord;
}

/** Sends raw bytes and returns what the server answered before closing (or the timeout). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("end", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => {
      socket.destroy();
      resolve(answer);
    });
    socket.end(bytes);
  });
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

describe("httpHandler", () => {
  it("mounts in the application's own server: its paths answered, every other path left to the application", async () => {
    const coord = await coordinator();
    const registry = new Registry();
    const metrics = coordinatorMetrics(coord, { registry });
    cleanups.push(() => metrics.close());
    const probes = healthProbes(coord);
    cleanups.push(() => probes.close());
    const handle = httpHandler({ registry, probes });
    const server = createServer((req, res) => {
      if (handle(req, res)) return;
      res.statusCode = 418;
      res.end("the application's own route\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const metricsAnswer = await request(`${base}/metrics`);
    expect(metricsAnswer.status).toBe(200);
    expect(metricsAnswer.headers.get("content-type")).toBe(registry.contentType);
    expect(metricsAnswer.headers.get("cache-control")).toBe("no-store");
    expect(
      sampleValue(parsePrometheusText(metricsAnswer.body), "rollcall_session_state", { state: "connected" }),
    ).toBe(1);
    expect(await request(`${base}/healthz`)).toMatchObject({ status: 200, body: "ok\n" });
    expect(await request(`${base}/readyz?verbose=1`)).toMatchObject({ status: 200 });
    expect(await request(`${base}/dashboard`)).toMatchObject({ status: 418 });
    expect(await request(`${base}/metricsz`)).toMatchObject({ status: 418 });
    expect(await request(`${base}/`)).toMatchObject({ status: 418 });

    // HEAD: headers, no body.
    const head = await request(`${base}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");

    // Only probes: /metrics is the application's.
    const onlyProbes = httpHandler({ probes });
    const server2 = createServer((req, res) => {
      if (!onlyProbes(req, res)) {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server2.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((r) => server2.close(r)));
    const base2 = `http://127.0.0.1:${(server2.address() as { port: number }).port}`;
    expect((await request(`${base2}/metrics`)).status).toBe(404);
    expect((await request(`${base2}/readyz`)).status).toBe(200);
  });

  it("is read-only and answers bad requests with 4xx and a fixed message, echoing nothing", async () => {
    const coord = await coordinator();
    const registry = new Registry();
    const metrics = coordinatorMetrics(coord, { registry });
    cleanups.push(() => metrics.close());
    const probes = healthProbes(coord);
    const http = await listenHttp(httpHandler({ registry, probes }), "127.0.0.1:0");
    cleanups.push(() => http.close());
    const base = http.url;

    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      for (const path of ["/metrics", "/readyz", "/leaderz"]) {
        const answer = await request(`${base}${path}`, { method, body: method === "DELETE" ? null : "x" });
        expect(answer.status).toBe(405);
        expect(answer.headers.get("allow")).toBe("GET, HEAD");
      }
    }
    const hostile = [
      "/leaderz?election=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
      "/leaderz?election=a&election=b",
      "/leaderz?election=a&lock=b",
      "/leaderz?frobnicate=1",
      `/leaderz?election=${"x".repeat(5000)}`,
      "/leaderz?election=%E0%A4%A",
      "/leaderz?election=",
      "/leaderz?lock=%00",
    ];
    for (const path of hostile) {
      const answer = await request(`${base}${path}`);
      expect(answer.status, path).toBe(400);
      expect(answer.body).toBe("bad request: /leaderz takes ?election=NAME or ?lock=NAME, once\n");
      expect(answer.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect(await request(`${base}/elsewhere`)).toMatchObject({ status: 404, body: "not found\n" });

    // Below fetch: a garbage request line, an absolute-form target, an oversized header.
    const port = http.address.port;
    expect(await raw(port, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(
      await raw(port, "GET http://evil.example/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ).toMatch(/^HTTP\/1\.1 404/);
    expect(
      await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 431/);
    // A client that disconnects mid-request, fifty times: nothing is left behind.
    await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<void>((resolve) => {
            const socket = connectTcp(port, "127.0.0.1", () => {
              socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n");
              socket.destroy();
              resolve();
            });
            socket.on("error", () => resolve());
          }),
      ),
    );
    const deadline = Date.now() + 10_000;
    while ((await connections(http.server)) > 0) {
      if (Date.now() > deadline) throw new Error("connections were left open");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await request(`${base}/healthz`)).status).toBe(200);
  });

  it("a thousand slow clients are dropped after headersTimeout while others are served; nothing is left open", async () => {
    const coord = await coordinator();
    const probes = healthProbes(coord);
    cleanups.push(() => probes.close());
    const http = await listenHttp(httpHandler({ probes }), "127.0.0.1:0", { headersTimeout: 1000 });
    cleanups.push(() => http.close());
    const port = http.address.port;
    const closed: Promise<string>[] = [];
    const connected: Promise<void>[] = [];
    const sockets: ReturnType<typeof connectTcp>[] = [];
    for (let i = 0; i < 1000; i++) {
      const socket = connectTcp(port, "127.0.0.1");
      sockets.push(socket);
      socket.on("error", () => {});
      connected.push(
        new Promise((resolve) =>
          socket.on("connect", () => {
            socket.write("GET /readyz HTTP/1.1\r\nHost: x\r\n"); // never finished
            resolve();
          }),
        ),
      );
      let answer = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        answer += chunk;
      });
      closed.push(new Promise((resolve) => socket.on("close", () => resolve(answer))));
    }
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    await Promise.all(connected);
    // Served meanwhile.
    expect(await request(`${http.url}/readyz`)).toMatchObject({ status: 200 });
    // Every slow client is answered (408) and disconnected by the server: none is closed from this side.
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 30_000));
    const answers = await Promise.race([Promise.all(closed), timeout]);
    expect(answers).not.toBe("timeout");
    for (const answer of answers as string[]) expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // The served client's idle keep-alive connection goes too (keepAliveTimeout 5 s).
    await eventually(async () => (await connections(http.server)) === 0, 15_000, "no connection left");
  });

  it("refuses bad options with INVALID_ARGUMENT", async () => {
    const coord = await coordinator();
    expect(() => httpHandler({})).toThrow(/a registry, probes or both/);
    const registry = new Registry();
    const first = coordinatorMetrics(coord, { registry });
    expect(() => coordinatorMetrics(coord, { registry })).toThrow(
      /already has a metric named rollcall_backend_info/,
    );
    const second = coordinatorMetrics(coord, { registry, prefix: "second_" });
    expect(registry.getSingleMetric("second_session_state")).toBeDefined();
    await second.close();
    expect(registry.getSingleMetric("second_session_state")).toBeUndefined();
    await first.close();
    expect(await registry.metrics()).toBe("\n");
    expect(() => coordinatorMetrics(coord, { registry, prefix: "bad-prefix" })).toThrow(/prefix must match/);
    expect(() => coordinatorMetrics(coord, { registry, renewalBuckets: [1, 0.5] })).toThrow(/increasing/);
    expect(() => coordinatorMetrics(coord, { registry: {} as Registry })).toThrow(/prom-client Registry/);
    await expect(listenHttp(httpHandler({ registry }), "localhost:99999")).rejects.toThrow(/no valid port/);
    await expect(listenHttp(httpHandler({ registry }), "127.0.0.1:0", { headersTimeout: 5 })).rejects.toThrow(
      /headersTimeout must be/,
    );
  });
});
