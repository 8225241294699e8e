// A member process for scripts/measure.mjs: connects, joins, prints "ready" and then every session
// state change as a line of JSON, until it is killed or its stdin closes.
import { connect } from "@rollcall/core";
import "@rollcall/zookeeper";

const [url, memberId, group] = process.argv.slice(2);
const coord = await connect(url, { memberId });
coord.on("session", (state) => process.stdout.write(`${JSON.stringify({ state, at: Date.now() })}\n`));
await coord.join(group);
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", async () => {
  await coord.close();
  process.exit(0);
});
