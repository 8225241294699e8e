import { describe, expect, it } from "vitest";
import { driverFor, eventually, fresh, rawClient, sessionRecorder, standaloneServer } from "./helpers.js";

const zk = standaloneServer();
const drivers = zk.drivers;

async function journal(namespace: string, group: string): Promise<string[]> {
  const raw = await rawClient(zk.server.connectionString);
  try {
    const listed = await raw.call("a_get_children", `/${namespace}/.journal/${group}`, false);
    return listed.rc === 0 ? (listed.value[0] as string[]).sort() : [];
  } finally {
    raw.close();
  }
}

describe("journal", () => {
  it("holds a leave intent per leave and an update record per update, swept after journalRetention", async () => {
    const namespace = fresh("j");
    const driver = driverFor(`${zk.server.url}?journalRetention=1000`, { namespace });
    await driver.open(sessionRecorder(), AbortSignal.timeout(10_000));
    drivers.push(driver);
    await driver.createGroup("g");
    const a = await driver.join("g", "a@b", { n: 0 });
    await driver.update("g", "a@b", { n: 1 });
    await driver.leave("g", "a@b");
    const czxid = a.seq.toString(16).padStart(16, "0");
    expect((await journal(namespace, "g")).map((name) => name.replace(/\d{10}$/, "#"))).toEqual([
      `L.a@b@${czxid}-#`,
      `U.a@b@${czxid}.1-#`,
    ]);
    await new Promise((r) => setTimeout(r, 1100));
    await driver.join("g", "c", {});
    await driver.leave("g", "c");
    await eventually(async () => (await journal(namespace, "g")).length === 1, 5000, "the old records swept");
    expect((await journal(namespace, "g"))[0]).toMatch(/^L\.c@/);
  });

  it("deleteGroup removes the group's journal", async () => {
    const namespace = fresh("j");
    const driver = driverFor(zk.server.url, { namespace });
    await driver.open(sessionRecorder(), AbortSignal.timeout(10_000));
    drivers.push(driver);
    await driver.createGroup("g");
    await driver.join("g", "a", {});
    await driver.leave("g", "a");
    expect(await journal(namespace, "g")).toHaveLength(1);
    await driver.deleteGroup("g");
    const raw = await rawClient(zk.server.connectionString);
    try {
      expect((await raw.call("a_exists", `/${namespace}/.journal/g`, false)).rc).toBe(-101);
    } finally {
      raw.close();
    }
  });
});
