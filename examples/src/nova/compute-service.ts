/**
 * A Nova-style compute service: joins `compute` with its capacity as metadata and stays a member
 * until SIGTERM. Usage: node compute-service.js <url> <host> <cpus> <ramGb>
 */
import { connect } from "@rollcall/core";

const [url, host, cpus, ram] = process.argv.slice(2);
if (!url || !host) {
  console.error("usage: compute-service <url> <host> <cpus> <ramGb>");
  process.exit(2);
}
const coord = await connect(url, { memberId: host });
await coord.join("compute", {
  createGroup: true,
  metadata: { cpus: Number(cpus ?? 8), ramGb: Number(ram ?? 32) },
});
console.log(`${host} up`);
const stop = async () => {
  await coord.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
