// A watching process for scripts/measure.mjs: connects, keeps a view of the group and prints its
// session states, every leave and the view's size as lines of JSON, until its stdin closes.
import { connect } from "@rollcall/core";
import "@rollcall/zookeeper";

const [url, group] = process.argv.slice(2);
const coord = await connect(url, { memberId: "watcher" });
const out = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
coord.on("session", (state) => out({ state }));
await coord.createGroup(group).catch(() => {});
const view = await coord.view(group);
view.on("change", (e) =>
  out({ change: e.type, size: view.size, ...(e.type === "leave" ? { reason: e.reason } : {}) }),
);
out({ ready: true, size: view.size });
process.stdin.resume();
process.stdin.on("end", async () => {
  await coord.close();
  process.exit(0);
});
