#!/usr/bin/env node
import { runCli } from "./cli.js";

const controller = new AbortController();
let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort();
  });
}
const status = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  stop: controller.signal,
});
process.exit(status);
