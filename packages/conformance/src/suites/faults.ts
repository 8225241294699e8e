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
        const startedAt = Date.now();
        const expired: string[] = [];
        // Every session change and leave, with its time from the fault, for the failure message.
        const history: string[] = [];
        const note = (what: string) => history.push(`${Date.now() - startedAt} ms ${what}`);
        for (const coord of members)
          coord.on("session", (state) => {
            note(`${coord.memberId} ${state}`);
            if (state === "expired") expired.push(coord.memberId);
          });
        const view = await watcher.view("compute");
        const leaves: string[] = [];
        view.on("change", (e) => {
          if (e.type !== "leave") return;
          note(`leave ${e.memberId} (${e.reason})`);
          leaves.push(e.memberId);
        });
        const leadership = await members[0]?.election("scheduler").campaign();
        expect(view.size).toBe(20);
        note("fault starts");
        await fault.run();
        note("fault over");
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
          expect(leaves, history.join("\n")).toEqual([]);
          expect(expired, history.join("\n")).toEqual([]);
          expect((await watcher.leader("scheduler"))?.id).toBe(members[0]?.memberId);
        }
        await leadership?.resign().catch(() => {});
        await view.close();
      },
      h.detectionBound * 6 + 120_000,
    );
  });
}
