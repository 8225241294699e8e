import { randomBytes } from "node:crypto";
import { type Coordinator, connect, type Member } from "@rollcall/core";
import { type Args, intOption } from "../args.js";
import type { CliIo } from "../cli.js";
import { redactUrl } from "../connection.js";
import { eventLine } from "../output.js";
import { DemoProcess } from "./demo-process.js";
import { DemoScreen } from "./demo-screen.js";

/** A measured step of the demo. */
interface Measurement {
  what: string;
  ms: number;
}

function withParams(url: string, params: Record<string, string | number>): string {
  const extra = Object.entries(params)
    .filter(([key]) => !new RegExp(`[?&]${key}=`).test(url))
    .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
    .join("&");
  if (extra === "") return url;
  return url.includes("?") ? `${url}&${extra}` : `${url}?${extra}`;
}

/**
 * `rollcall demo`: compute services and two scheduler candidates in their own processes, a live view,
 * then a crash, a leader fail-over, a freeze past the timeout, restarts, and a summary of the times.
 */
export async function demoCommand(args: Args, io: CliIo, baseUrl: string): Promise<number> {
  const computes = intOption(args, "computes", 4, 2);
  const duration = intOption(args, "duration", 90, 10) * 1000;
  const interactive = !args.flags.has("non-interactive") && process.stdout.isTTY === true;
  const url = withParams(baseUrl, {
    namespace: `demo-${randomBytes(3).toString("hex")}`,
    sessionTimeout: 2000,
    retryInterval: 500,
  });
  const deadline = Date.now() + duration;
  const screen = new DemoScreen(interactive, io.out, redactUrl(url));
  const measurements: Measurement[] = [];
  const processes: DemoProcess[] = [];
  const onLine = (name: string, line: string) => screen.log(`${name}: ${line}`);
  const observer: Coordinator = await connect(url, { memberId: `demo-observer-${process.pid}` });
  screen.backend = `${observer.backend} (session timeout ${observer.sessionTimeout} ms)`;
  const timeout = observer.sessionTimeout;
  const stopAll = async () => {
    screen.stop();
    await Promise.allSettled(processes.map((p) => p.stop()));
    await observer.close().catch(() => {});
  };
  try {
    await observer.createGroup("compute").catch(() => {});
    const view = await observer.view("compute");
    view.on("change", (event) => {
      if (event.type !== "snapshot") screen.log(`watcher: ${eventLine(event).slice(14)}`);
      screen.members = view.members().map((m) => m.id);
    });
    const leaders: Member[][] = [];
    const observing = new AbortController();
    void (async () => {
      for await (const holders of observer.election("scheduler").observe({ signal: observing.signal })) {
        leaders.push(holders);
        screen.leader = holders[0]?.id ?? "(none)";
        screen.log(`election: leader is ${screen.leader}${holders[0] ? ` (token ${holders[0].seq})` : ""}`);
      }
    })().catch(() => {});

    const wait = async (
      check: () => boolean,
      what: string,
      limit = timeout * 5 + 10_000,
    ): Promise<number> => {
      const started = Date.now();
      while (!check()) {
        if (io.stop.aborted) throw new Error("interrupted");
        if (Date.now() > deadline)
          throw new Error(`the demo ran out of time (--duration) waiting for ${what}`);
        if (Date.now() - started > limit) throw new Error(`gave up waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return Date.now() - started;
    };
    const phase = (title: string) => {
      screen.phase = title;
      screen.log(`── ${title}`);
    };

    phase("starting compute services and scheduler candidates");
    // The URL may carry a password: children get it in their environment, never on their command line
    // (which every user of the host can read).
    const childEnv = { ROLLCALL_URL: url };
    const computeProcs = Array.from({ length: computes }, (_, i) => {
      const id = `compute-${i + 1}`;
      return new DemoProcess(
        id,
        ["join", "compute", "--id", id, "--meta", `cpus=${16 * (i + 1)}`],
        onLine,
        childEnv,
      );
    });
    const task =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the template is evaluated by the child process
      "let n=0;setInterval(()=>console.log(`scheduling round ${++n} with fencing token ${process.env.ROLLCALL_FENCING_TOKEN}`),1000)";
    const schedulers = ["scheduler-a", "scheduler-b"].map(
      (id) =>
        new DemoProcess(
          id,
          ["campaign", "scheduler", "--id", id, "--", process.execPath, "-e", task],
          onLine,
          childEnv,
        ),
    );
    for (const p of [...computeProcs, ...schedulers]) {
      processes.push(p);
      p.start();
    }
    await wait(() => computeProcs.every((p) => view.isUp(p.name)), "every compute service up");
    await wait(() => (leaders.at(-1)?.length ?? 0) === 1, "a scheduler leader");
    await new Promise((r) => setTimeout(r, 1500));

    const victim = computeProcs[1] as DemoProcess;
    phase(`crash: SIGKILL ${victim.name} (pid ${victim.pid})`);
    victim.signal("SIGKILL");
    measurements.push({
      what: `crash of ${victim.name} → leave seen`,
      ms: await wait(() => !view.isUp(victim.name), `${victim.name} to leave`),
    });

    const leaderId = leaders.at(-1)?.[0]?.id ?? "";
    const leaderProc = schedulers.find((s) => s.name === leaderId) as DemoProcess;
    phase(`fail-over: SIGKILL the leader ${leaderProc.name} (pid ${leaderProc.pid})`);
    leaderProc.signal("SIGKILL");
    measurements.push({
      what: `crash of leader ${leaderProc.name} → new leader`,
      ms: await wait(() => {
        const now = leaders.at(-1)?.[0]?.id;
        return now !== undefined && now !== leaderProc.name;
      }, "a new leader"),
    });

    const frozen = computeProcs[2] as DemoProcess;
    phase(`freeze: SIGSTOP ${frozen.name} past the session timeout`);
    frozen.signal("SIGSTOP");
    measurements.push({
      what: `freeze of ${frozen.name} → leave seen`,
      ms: await wait(() => !view.isUp(frozen.name), `${frozen.name} to leave`),
    });
    phase(`thaw: SIGCONT ${frozen.name}; it finds its session expired and re-joins by itself`);
    frozen.signal("SIGCONT");
    measurements.push({
      what: `thaw of ${frozen.name} → re-joined`,
      ms: await wait(() => view.isUp(frozen.name), `${frozen.name} to re-join`),
    });

    phase(`restart: ${victim.name} and ${leaderProc.name} start again`);
    victim.start();
    leaderProc.start();
    measurements.push({
      what: `restart of ${victim.name} → joined`,
      ms: await wait(() => view.isUp(victim.name), `${victim.name} to join`),
    });
    await new Promise((r) => setTimeout(r, 1500));

    phase("summary");
    observing.abort();
    await stopAll();
    io.out("");
    io.out(`rollcall demo on ${screen.backend}`);
    for (const m of measurements) {
      io.out(
        `  ${m.what.padEnd(44)} ${String(m.ms).padStart(6)} ms  (${(m.ms / timeout).toFixed(2)} × session timeout)`,
      );
    }
    return 0;
  } catch (error) {
    await stopAll();
    io.err(`rollcall demo: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
