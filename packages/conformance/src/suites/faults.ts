import type { Coordinator } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { eventually, type Harness, randomId } from "../harness.js";
import type { Fault } from "../options.js";
import { REQUIRE_PARTITION_ENV } from "./partition.js";

/** Server faults declared by the backend: restart the server, kill a cluster node, partition one. */
export function faultsSuite(
  h: Harness,
  which: "restartServer" | "killNode" | "partitionNode",
  label: string,
): void {
  describe(`faults: ${label}`, () => {
    it(
      `20 members and a watcher come through ${label}`,
      async (ctx) => {
        const fault: Fault | undefined = h.target?.faults?.[which];
        if (!fault && which === "partitionNode" && process.env[REQUIRE_PARTITION_ENV] !== "1") {
          // A lab needs network namespaces (root): say so rather than pass.
          ctx.skip(
            "setup() returned no faults.partitionNode: the cluster could not be started in a network lab here (not root?)",
          );
        }
        if (!fault)
          throw new Error(
            `runConformance() names the ${which} fault but setup() returned no faults.${which}`,
          );
        const watcher = await h.coordinator();
        await watcher.createGroup("compute");
        const members: Coordinator[] = [];
        for (let i = 0; i < 20; i++) {
          const coord = await h.coordinator(randomId(`f${i}`));
          await coord.join("compute", { metadata: { i } });
          members.push(coord);
        }
        const expired: string[] = [];
        for (const coord of members)
          coord.on("session", (state) => state === "expired" && expired.push(coord.memberId));
        const view = await watcher.view("compute");
        const leaves: string[] = [];
        view.on("change", (e) => e.type === "leave" && leaves.push(e.memberId));
        const leadership = await members[0]?.election("scheduler").campaign();
        expect(view.size).toBe(20);
        await fault.run();
        const ids = members.map((c) => c.memberId).sort();
        await eventually(
          async () => {
            const listed = (await watcher.members("compute")).map((m) => m.id).sort();
            const viewed = view
              .members()
              .map((m) => m.id)
              .sort();
            return (
              JSON.stringify(listed) === JSON.stringify(ids) && JSON.stringify(viewed) === JSON.stringify(ids)
            );
          },
          h.detectionBound * 3 + 30_000,
          "every member back in members() and in the view",
        );
        if (fault.preservesSessions) {
          expect(leaves).toEqual([]);
          expect(expired).toEqual([]);
          expect((await watcher.leader("scheduler"))?.id).toBe(members[0]?.memberId);
        }
        await leadership?.resign().catch(() => {});
        await view.close();
      },
      h.detectionBound * 6 + 120_000,
    );
  });
}
