import { inspect } from "node:util";
import {
  type Coordinator,
  connect,
  type Logger,
  Partitioner,
  parseUrl,
  RollcallError,
  redactUrl,
  ServiceGroup,
} from "@rollcall/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomId, withParams } from "../harness.js";
import type { ConformanceOptions, ConformanceTarget, SecurityTarget } from "../options.js";
import { resolveOptions } from "../server-target.js";

/** Shortest secret the suite accepts: a shorter one would match innocent text by chance. */
export const MIN_SECRET_LENGTH = 6;

/**
 * The forms a secret may take in text: as is, percent-encoded (as in a URL), JSON-escaped, base64, and
 * — for multi-line secrets such as a PEM private key — each long line on its own.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURI(secret));
  forms.add(JSON.stringify(secret).slice(1, -1));
  forms.add(Buffer.from(secret, "utf8").toString("base64"));
  if (secret.includes("\n")) {
    for (const line of secret.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= 16 && !trimmed.startsWith("-----")) forms.add(trimmed);
    }
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/**
 * Collects every piece of text a user could see — log lines, console output, errors, `String()`,
 * `util.inspect()` and `JSON.stringify()` of public objects — and finds secrets in it.
 */
export class Exposure {
  /** Every captured text, labelled with where it came from. */
  readonly texts: { where: string; text: string }[] = [];

  /** A pino-compatible logger that records every line and its fields. */
  readonly logger: Logger = {
    debug: (message, fields) => this.log("debug", message, fields),
    info: (message, fields) => this.log("info", message, fields),
    warn: (message, fields) => this.log("warn", message, fields),
    error: (message, fields) => this.log("error", message, fields),
  };

  /** How many log lines were recorded. */
  logLines = 0;

  private log(level: string, message: string, fields?: Record<string, unknown>): void {
    this.logLines++;
    this.add(`log.${level}`, String(message));
    if (fields !== undefined) this.capture(`log.${level} fields of ${JSON.stringify(message)}`, fields);
  }

  /** Records a piece of text as is. */
  add(where: string, text: string): void {
    this.texts.push({ where, text });
  }

  /**
   * Records `String()`, `util.inspect()` (deep, with getters) and `JSON.stringify()` of a value; for an
   * error also its message, stack and causes.
   */
  capture(where: string, value: unknown): void {
    this.add(
      `String(${where})`,
      safely(() => String(value)),
    );
    this.add(
      `inspect(${where})`,
      safely(() => inspect(value, { depth: 12, getters: true, colors: false })),
    );
    this.add(
      `JSON(${where})`,
      safely(() => JSON.stringify(value, jsonReplacer) ?? "undefined"),
    );
    let error = value;
    for (let depth = 0; error instanceof Error && depth < 8; depth++) {
      this.add(`${where}.message`, error.message);
      this.add(`${where}.stack`, error.stack ?? "");
      this.add(
        `${where}.toString()`,
        safely(() => error?.toString() ?? ""),
      );
      error = error.cause;
    }
  }

  /** Every place where a secret (in any of its {@link secretForms}) appears. */
  leaks(secrets: readonly string[]): string[] {
    const found: string[] = [];
    for (const secret of secrets) {
      for (const form of secretForms(secret)) {
        for (const { where, text } of this.texts) {
          if (text.includes(form)) {
            const at = text.indexOf(form);
            const context = `${text.slice(Math.max(0, at - 60), at)}<SECRET>${text.slice(at + form.length, at + form.length + 40)}`;
            found.push(`${where}: …${context.replace(/\s+/g, " ")}…`);
          }
        }
      }
    }
    return found;
  }

  /**
   * Taps `console` and `process.stdout` / `process.stderr` writes until the returned function is called
   * (output still goes through).
   */
  tapOutput(): () => void {
    const restore: (() => void)[] = [];
    for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.add(`console.${method}`, args.map((a) => safely(() => inspect(a, { depth: 12 }))).join(" "));
        original.apply(console, args);
      };
      restore.push(() => {
        console[method] = original;
      });
    }
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      const original = stream.write;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        this.add(
          `process.${name}`,
          typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(),
        );
        return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = original;
      });
    }
    return () => {
      for (const undo of restore.reverse()) undo();
    };
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function safely(render: () => string): string {
  try {
    return render();
  } catch (error) {
    return `<cannot render: ${error instanceof Error ? error.message : typeof error}>`;
  }
}

/** Appends only the query parameters a URL does not have yet. */
function withMissingParams(url: string, params: Record<string, string | number>): string {
  const query = url.includes("?")
    ? new URLSearchParams(url.slice(url.indexOf("?") + 1))
    : new URLSearchParams();
  const missing = Object.fromEntries(Object.entries(params).filter(([key]) => !query.has(key)));
  return Object.keys(missing).length === 0 ? url : withParams(url, missing);
}

/** The ways a message may name a URL's hosts: `host:port`, `[v6]:port`, or the bare host. */
function hostNames(url: string): string[][] {
  return parseUrl(url).hosts.map(({ host, port }) => {
    const bracketed = host.includes(":") ? `[${host}]` : host;
    return port === undefined ? [host, bracketed] : [`${host}:${port}`, `${bracketed}:${port}`];
  });
}

async function failure(attempt: () => unknown): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const REFUSE_TIMEOUT = 5000;

/**
 * The security suite (registered with `security: true`): runs against a server of its own from
 * `setup({ secure: true })` that requires authentication, with the backend's secrets in the URL and in
 * the environment.
 *
 * - a full scenario (two coordinators join, update, watch, view, an election, a lock, members, groups
 *   and failing calls) records every log line (through `connect()`'s `logger`), console and stdout/stderr
 *   output, every error's message, stack, `String()`, `inspect()` and JSON, and `String()` / `inspect()`
 *   / JSON of every public object — and none contains a secret, raw, percent-encoded, JSON-escaped or
 *   base64;
 * - each `refused` URL makes `connect()` fail within a bounded time with a `CONNECTION` error that names
 *   the host and contains no secret (not even the wrong password it was given);
 * - `ROLLCALL_URL` (the credentialed URL) and the `env` variables are set in `process.env` for the run
 *   and restored after, so whatever dumps the environment is caught too.
 */
export function securitySuite(given: ConformanceOptions): void {
  const options = resolveOptions(given);
  describe(`${options.name} security`, () => {
    let target: ConformanceTarget | undefined;
    let security: SecurityTarget;
    const savedEnv = new Map<string, string | undefined>();
    const coordinators: Coordinator[] = [];
    const sessionTimeout = options.timing?.sessionTimeout ?? 2000;
    const eventTimeout = options.timing?.eventTimeout ?? 10_000;

    function url(namespace: string, extra: Record<string, string | number> = {}): string {
      return withMissingParams(security.url, { namespace, sessionTimeout, ...extra });
    }

    async function open(base: string, memberId: string, exposure: Exposure): Promise<Coordinator> {
      const coord = await connect(base, { memberId, logger: exposure.logger });
      coordinators.push(coord);
      return coord;
    }

    /** The variables set for the run: `ROLLCALL_URL` (the credentialed URL) and the target's `env`. */
    function environment(): Record<string, string> {
      return { ROLLCALL_URL: security.url, ...security.env };
    }

    /**
     * Every secret: the target's, the env values, and `user:password` of the URL (as an HTTP Basic
     * header would carry it, base64-encoded).
     */
    function secrets(): string[] {
      const { username, password } = parseUrl(security.url);
      const pair = username && password ? [`${username}:${password}`] : [];
      return [...security.secrets, ...Object.values(security.env ?? {}), ...pair];
    }

    beforeAll(async () => {
      target = await options.setup({ secure: true });
      if (!target.security) {
        throw new Error(
          `${options.name}: runConformance() was given security: true, but setup({ secure: true }) returned no security target`,
        );
      }
      security = target.security;
      if (security.secrets.length === 0)
        throw new Error(`${options.name}: the security target lists no secrets`);
      for (const secret of secrets()) {
        if (secret.length < MIN_SECRET_LENGTH) {
          throw new Error(
            `${options.name}: a secret of the security target is shorter than ${MIN_SECRET_LENGTH} characters: choose longer ones so finding it means something`,
          );
        }
      }
      // The credentialed URL sits in the environment as an application would keep it, besides the
      // backend's own variables: whatever dumps the environment shows up as a leak.
      for (const [name, value] of Object.entries(environment())) {
        savedEnv.set(name, process.env[name]);
        process.env[name] = value;
      }
    }, 180_000);

    afterAll(async () => {
      for (const [name, value] of savedEnv) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await target?.close?.();
    }, 120_000);

    afterEach(async () => {
      await Promise.allSettled(coordinators.splice(0).map((c) => c.close()));
    }, 60_000);

    it("the environment carries the secrets during the run (ROLLCALL_URL and the backend's variables)", () => {
      for (const [name, value] of Object.entries(environment())) expect(process.env[name]).toBe(value);
    });

    it("a full scenario with credentials never shows a secret in logs, errors, output or any public object", async () => {
      const exposure = new Exposure();
      const untap = exposure.tapOutput();
      try {
        await scenario(exposure);
      } finally {
        untap();
      }
      expect(exposure.logLines, "connect() logs through the logger it is given").toBeGreaterThan(0);
      expect(exposure.leaks(secrets())).toEqual([]);
    }, 120_000);

    async function scenario(exposure: Exposure): Promise<void> {
      const see = (where: string, value: unknown) => exposure.capture(where, value);
      const fails = async (where: string, code: string, attempt: () => unknown) => {
        const error = await failure(attempt);
        see(where, error);
        expect(RollcallError.isInstance(error) ? error.code : String(error), where).toBe(code);
      };
      const namespace = randomId("ns");
      const base = url(namespace);
      see("the URL through redactUrl()", redactUrl(base));
      see("parseUrl()", parseUrl(base));

      const a = await open(base, randomId("a"), exposure);
      const b = await open(base, randomId("b"), exposure);
      for (const coord of [a, b]) {
        coord.on("session", (state, previous) => exposure.add("session event", `${previous} → ${state}`));
        coord.on("rejoined", (groups) => see("rejoined event", groups));
      }
      see("a coordinator", a);
      see("its characteristics", a.characteristics);

      await a.createGroup("compute");
      const watch = b.watch("compute");
      see("a watch iterable", watch);
      const events = watch[Symbol.asyncIterator]();
      see("a watch iterator", events);
      see("the snapshot event", await events.next());
      const joined = await a.join("compute", { metadata: { cpus: 8, note: "joined" } });
      see("a member from join()", joined);
      see("the join event", await events.next());
      await b.join("compute", { metadata: { cpus: 4 } });
      const view = await a.view("compute");
      see("a view", view);
      view.on("change", (event) => see("a view change event", event));
      see("an update", await a.updateMetadata("compute", { cpus: 16 }));
      for (let i = 0; i < 4; i++) {
        const next = await Promise.race([
          events.next(),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), eventTimeout)),
        ]);
        see("a watch event", next);
        if (next?.value?.type === "update") break;
      }
      await events.return?.();
      see("view.members()", view.members());
      see("members()", await b.members("compute"));
      see("member()", await b.member("compute", a.memberId));
      see("groups()", await a.groups());
      const serviceGroup = new ServiceGroup(b);
      await serviceGroup.getAll("compute");
      see("a ServiceGroup", serviceGroup);
      const partitioner = new Partitioner(view, { self: a.memberId });
      see("a Partitioner", partitioner);

      const election = a.election("scheduler", { metadata: { role: "scheduler" } });
      see("an election", election);
      const leadership = await election.campaign();
      see("a leadership", leadership);
      see("leaders()", await b.election("scheduler").leaders());
      see("leader()", await b.leader("scheduler"));
      const observer = b.election("scheduler").observe()[Symbol.asyncIterator]();
      see("observe()", await observer.next());
      await observer.return?.();
      await leadership.resign();
      see("a resigned leadership", leadership);

      const lock = b.lock("resource");
      see("a lock", lock);
      const held = await lock.acquire({ timeout: eventTimeout });
      see("a held lock", held);
      see("tryAcquire() while held elsewhere", await a.lock("resource").tryAcquire());
      await held.resign();

      await fails("members() of a missing group", "GROUP_NOT_FOUND", () => a.members("missing"));
      await fails("join() twice", "MEMBER_EXISTS", () => a.join("compute"));
      await fails("deleteGroup() of a non-empty group", "GROUP_NOT_EMPTY", () => a.deleteGroup("compute"));
      await fails("a bad group name", "INVALID_ARGUMENT", () => a.join("../escape"));
      await fails("member() of a stranger", "MEMBER_NOT_FOUND", () => a.member("compute", "stranger"));
      await fails("an unknown URL option", "INVALID_ARGUMENT", () =>
        connect(withParams(base, { bogusOption: 1 }), { memberId: "x", logger: exposure.logger }),
      );
      await fails("a bad session timeout", "INVALID_ARGUMENT", () =>
        connect(base.replace(/sessionTimeout=\d+/, "sessionTimeout=abc"), {
          memberId: "x",
          logger: exposure.logger,
        }),
      );

      await view.close();
      await b.leave("compute");
      await a.close();
      await fails("a call after close()", "NOT_CONNECTED", () => a.groups());
      see("a closed coordinator", a);
      await b.close();
      see("the other closed coordinator", b);
    }

    it("wrong credentials are refused with a CONNECTION error naming the host, never a secret", async (ctx) => {
      if (security.refused.length === 0) ctx.skip("the security target lists no refused URLs");
      for (const { why, url: refused } of security.refused) {
        const exposure = new Exposure();
        const started = Date.now();
        const bad = withMissingParams(refused, {
          namespace: randomId("ns"),
          sessionTimeout,
          connectTimeout: REFUSE_TIMEOUT,
        });
        const error = await failure(() => connect(bad, { memberId: randomId("x"), logger: exposure.logger }));
        const took = Date.now() - started;
        exposure.capture("the error", error);
        const code = RollcallError.isInstance(error) ? error.code : `untyped ${String(error)}`;
        expect(code, `${why}: ${String(error)}`).toBe("CONNECTION");
        const message = (error as Error).message;
        const hosts = hostNames(refused);
        expect(
          hosts.some((names) => names.some((name) => message.includes(name))),
          `${why}: the message names the host (${hosts.map((n) => n[0]).join(", ")}): ${message}`,
        ).toBe(true);
        expect(took, `${why}: refused within ${REFUSE_TIMEOUT + 5000} ms`).toBeLessThan(
          REFUSE_TIMEOUT + 5000,
        );
        const password = parseUrl(refused).password;
        const wrong = password !== undefined && password.length >= MIN_SECRET_LENGTH ? [password] : [];
        expect(exposure.leaks([...secrets(), ...wrong]), why).toEqual([]);
      }
    }, 120_000);
  });
}
