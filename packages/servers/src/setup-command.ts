import { ServerStartError } from "./errors.js";
import { readLogTail } from "./log-tail.js";
import { describeExit, ManagedProcess, type ProcessSpec } from "./process.js";

/**
 * Run a one-shot setup program (initdb, mariadb-install-db) to completion, under the watchdog like any
 * server process.
 *
 * @param name - name for errors, such as `postgres-1 initdb`.
 * @param spec - the program.
 * @param timeoutMs - deadline.
 * @throws {@link ServerStartError} with the log tail when it fails or times out.
 */
export async function runSetupCommand(name: string, spec: ProcessSpec, timeoutMs: number): Promise<void> {
  let child: ManagedProcess;
  try {
    child = await ManagedProcess.spawn(spec);
  } catch (error) {
    throw new ServerStartError(name, `cannot start: ${(error as Error).message}`, spec.logFile, "");
  }
  const status = await child.waitExit(timeoutMs);
  if (status === undefined) {
    await child.kill();
    throw new ServerStartError(
      name,
      `did not finish within ${timeoutMs} ms`,
      spec.logFile,
      readLogTail(spec.logFile),
    );
  }
  if (status.code !== 0) {
    throw new ServerStartError(name, describeExit(status), spec.logFile, readLogTail(spec.logFile));
  }
}
