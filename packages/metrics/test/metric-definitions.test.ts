import { randomId } from "@rollcall/conformance";
import { connect } from "@rollcall/core";
import "@rollcall/memory";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { coordinatorMetrics, METRICS } from "../src/index.js";

describe("METRICS", () => {
  it("is exactly what coordinatorMetrics registers: names, types, help texts, label names", async () => {
    const coord = await connect(`memory://${randomId("store")}`, { memberId: randomId("m") });
    const registry = new Registry();
    const metrics = coordinatorMetrics(coord, { registry, groups: ["g"], elections: ["e"], locks: ["l"] });
    try {
      await coord.createGroup("g");
      await metrics.ready().catch(() => {});
      await metrics.watchGroup("g");
      await coord.join("g");
      const lead = await coord.election("e").campaign();
      await lead.resign();
      const held = await coord.lock("l").acquire();
      await held.resign();
      const json = await registry.getMetricsAsJSON();
      expect(json.map((m) => m.name).sort()).toEqual(
        Object.keys(METRICS)
          .map((n) => `rollcall_${n}`)
          .sort(),
      );
      for (const metric of json) {
        const definition = METRICS[metric.name.slice("rollcall_".length) as keyof typeof METRICS];
        expect(metric.type, metric.name).toBe(definition.type);
        expect(metric.help).toBe(definition.help);
        for (const value of metric.values) {
          for (const label of Object.keys(value.labels)) {
            if (label === "le") continue;
            expect(definition.labels as readonly string[], `${metric.name} label ${label}`).toContain(label);
          }
        }
      }
      expect(metrics.metricNames).toHaveLength(Object.keys(METRICS).length);
    } finally {
      await metrics.close();
      await coord.close();
    }
  });
});
