/**
 * The Nova DB servicegroup pattern as a peer of the rollcall benchmarks, on PostgreSQL:
 *
 * - services: every `report_interval` each service saves its row — as `Service.save()` does through
 *   nova-conductor: one transaction `SELECT … FROM services WHERE id = $1` + `UPDATE services SET
 *   updated_at = <client clock>, report_count = report_count + 1 WHERE id = $1` on a pooled connection;
 * - a consumer (the scheduler): every `pollMs` it reads the compute services and decides each one
 *   up or down as nova/servicegroup/drivers/db.py does, `abs(utcnow() - updated_at) <= service_down_time`.
 *
 * JSON-line commands on stdin, replies and events on stdout (the harness's agent protocol).
 */
import { createInterface } from "node:readline";
import pg from "pg";

function now(): number {
  return performance.timeOrigin + performance.now();
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const pools: pg.Pool[] = [];
const timers: NodeJS.Timeout[] = [];
let beats = 0;
let beatErrors = 0;
let polls = 0;

interface ServicesRequest {
  connectionString: string;
  table: string;
  ids: number[];
  reportIntervalMs: number;
  poolSize: number;
}

function services(request: ServicesRequest) {
  const pool = new pg.Pool({ connectionString: request.connectionString, max: request.poolSize });
  pool.on("error", () => {});
  pools.push(pool);
  const table = request.table;
  const beat = async (id: number) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT * FROM ${table} WHERE id = $1 AND deleted = 0`, [id]);
      await client.query(
        `UPDATE ${table} SET updated_at = $2, report_count = report_count + 1 WHERE id = $1`,
        [id, new Date()],
      );
      await client.query("COMMIT");
      beats++;
    } catch {
      beatErrors++;
      await client.query("ROLLBACK").catch(() => {});
    } finally {
      client.release();
    }
  };
  for (const id of request.ids) {
    // Services start at random moments, as real ones do: their beats do not line up.
    const first = setTimeout(() => {
      void beat(id);
      timers.push(setInterval(() => void beat(id), request.reportIntervalMs));
    }, Math.random() * request.reportIntervalMs);
    timers.push(first);
  }
  return { services: request.ids.length };
}

interface ConsumerRequest {
  connectionString: string;
  table: string;
  serviceDownTimeMs: number;
  pollMs: number;
}

async function consumer(request: ConsumerRequest) {
  const pool = new pg.Pool({ connectionString: request.connectionString, max: 1 });
  pool.on("error", () => {});
  pools.push(pool);
  const up = new Map<string, boolean>();
  const poll = async () => {
    const { rows } = await pool.query<{ host: string; updated_at: Date | null; created_at: Date }>(
      `SELECT * FROM ${request.table} WHERE "binary" = 'nova-compute' AND deleted = 0`,
    );
    polls++;
    const at = now();
    for (const row of rows) {
      const last = (row.updated_at ?? row.created_at).getTime();
      const isUp = Math.abs(Date.now() - last) <= request.serviceDownTimeMs;
      const before = up.get(row.host);
      up.set(row.host, isUp);
      if (before !== undefined && before !== isUp) send({ event: isUp ? "up" : "down", host: row.host, at });
    }
  };
  await poll();
  timers.push(setInterval(() => void poll().catch(() => {}), request.pollMs));
  return { services: up.size, up: [...up.values()].filter(Boolean).length };
}

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case "services":
      return services(args as unknown as ServicesRequest);
    case "consumer":
      return consumer(args as unknown as ConsumerRequest);
    case "stats": {
      const cpu = process.cpuUsage();
      return { cpuSeconds: (cpu.user + cpu.system) / 1e6, beats, beatErrors, polls };
    }
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const request = JSON.parse(line) as { id: number; cmd: string } & Record<string, unknown>;
  handle(request.cmd, request).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) =>
      send({ id: request.id, ok: false, error: String((error as Error)?.message ?? error) }),
  );
});
lines.on("close", () => {
  for (const timer of timers) clearTimeout(timer);
  void Promise.allSettled(pools.map((p) => p.end())).finally(() => process.exit(0));
});

send({ event: "ready", pid: process.pid, at: now() });
