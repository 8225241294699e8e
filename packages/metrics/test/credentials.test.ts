import { randomBytes } from "node:crypto";
import { Exposure, randomId, withParams } from "@rollcall/conformance";
import { connect } from "@rollcall/core";
import "@rollcall/redis";
import { type RedisServer, startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveMetrics } from "../src/index.js";
import { request, untilStatus } from "./support/scrape.js";

const userPassword = `ops/${randomBytes(8).toString("hex")}@%:`;
const defaultPassword = `default-${randomBytes(8).toString("hex")}`;
let redis: RedisServer | undefined;

beforeAll(async () => {
  redis = await startRedis({
    password: defaultPassword,
    aclUsers: [{ name: "ops", password: userPassword }],
  });
});
afterAll(async () => {
  await redis?.close();
});

describe("credentials in the backend URL", () => {
  it("never appear in /metrics, a probe, an error answer, a header, or the served objects — not even while the server is down", async () => {
    const port = redis?.nodes[0]?.port;
    const url = withParams(`redis://ops:${encodeURIComponent(userPassword)}@127.0.0.1:${port}`, {
      namespace: randomId("ns"),
      sessionTimeout: 2000,
    });
    const exposure = new Exposure();
    const coord = await connect(url, { memberId: randomId("m"), logger: exposure.logger });
    try {
      await coord.join("compute", { createGroup: true, metadata: { role: "api" } });
      const served = await serveMetrics(coord, {
        listen: "127.0.0.1:0",
        groups: ["compute"],
        elections: ["scheduler"],
        locks: ["backup"],
      });
      try {
        await served.metrics.ready();
        const lead = await coord.election("scheduler").campaign();
        const held = await coord.lock("backup").acquire();
        const paths = [
          "/metrics",
          "/healthz",
          "/readyz",
          "/leaderz",
          "/leaderz?election=scheduler",
          "/leaderz?lock=backup",
          "/leaderz?election=%3Cbad%3E",
          "/nowhere",
        ];
        const capture = async (when: string) => {
          for (const path of paths) {
            for (const method of ["GET", "POST"]) {
              const answer = await request(`${served.url}${path}`, { method });
              exposure.add(`${when} ${method} ${path} body`, answer.body);
              exposure.add(`${when} ${method} ${path} headers`, JSON.stringify([...answer.headers]));
            }
          }
        };
        await capture("up");
        const node = redis?.nodes[0];
        await node?.stop();
        try {
          await untilStatus(served.url, "/readyz", 503, 10_000);
          await capture("down");
        } finally {
          await node?.start();
        }
        await untilStatus(served.url, "/readyz", 200, 20_000);
        await capture("back");
        exposure.capture("served", served);
        exposure.capture("metrics", served.metrics);
        exposure.capture("probes", served.probes);
        await held.resign().catch(() => {});
        await lead.resign().catch(() => {});
      } finally {
        await served.close();
      }
    } finally {
      await coord.close();
    }
    // The capture really holds the scrapes (a test that can fail).
    expect(exposure.texts.some((t) => t.text.includes('rollcall_group_members{group="compute"} 1'))).toBe(
      true,
    );
    expect(exposure.leaks([userPassword, defaultPassword])).toEqual([]);
  });
});
