import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BackendDefinition, DriverConfig } from "../src/driver/driver.js";
import {
  defineParams,
  driverOptions,
  type ParamValues,
  parseParams,
  readPemFile,
} from "../src/driver/url-params.js";
import { RollcallError } from "../src/index.js";
import { createDriver, registerBackend } from "../src/registry.js";
import type { Logger } from "../src/types.js";
import { parseUrl, readUrlOptions } from "../src/url.js";

const PARAMS = defineParams({
  logLength: { type: "integer", min: 10, max: 1_000_000, default: 1000 },
  ratio: { type: "number", min: 0.01, max: 10 },
  auth: { type: "enum", values: ["none", "inherit"], default: "none" },
  mode: { type: "enum", values: ["on", "off"], deprecatedValues: { maybe: "use mode=on" } },
  rejectUnauthorized: { type: "boolean", default: true, aliases: ["tlsRejectUnauthorized"] },
  ca: { type: "file", aliases: ["tlsCaFile", "caFile"] },
  prefix: { type: "string", pattern: /[a-z]{1,8}/, expected: "1–8 lower-case letters", default: "p" },
  token: { type: "string", secret: true, pattern: /[0-9a-f]{32}/, expected: "32 hex digits" },
});

const backend: BackendDefinition<typeof PARAMS> = {
  name: "schema",
  schemes: ["schema"],
  defaultSessionTimeout: 4000,
  params: PARAMS,
  create: () => {
    throw new Error("unused");
  },
};

interface Warning {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function recordingLogger(): Logger & { warnings: Warning[] } {
  const warnings: Warning[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(message, fields) {
      warnings.push({ message, fields });
    },
    error() {},
  };
}

function read(query: string, logger?: Logger) {
  return readUrlOptions(parseUrl(`schema://u:pw-s3cret@h/x${query}`), backend as BackendDefinition, logger);
}

function refusal(query: string): RollcallError {
  try {
    read(query);
  } catch (error) {
    expect(RollcallError.hasCode(error, "INVALID_ARGUMENT"), query).toBe(true);
    const message = (error as Error).message;
    expect(message, query).not.toContain("pw-s3cret");
    return error as RollcallError;
  }
  throw new Error(`${query} was accepted`);
}

describe("URL option schema", () => {
  it("hands typed values with defaults, and which common keys the URL gave", () => {
    const { options, given, common } = read("?sessionTimeout=5000&ratio=0.5&mode=on&ca=%2Fetc%2Fca.pem");
    const typed = options as ParamValues<typeof PARAMS>;
    expect(typed).toEqual({
      logLength: 1000,
      ratio: 0.5,
      auth: "none",
      mode: "on",
      rejectUnauthorized: true,
      ca: "/etc/ca.pem",
      prefix: "p",
      token: undefined,
    });
    expect([...given]).toEqual(["sessionTimeout"]);
    expect(common.sessionTimeout).toBe(5000);
    expect(read("?rejectUnauthorized=0&logLength=10").options).toMatchObject({
      rejectUnauthorized: false,
      logLength: 10,
    });
  });

  it("refuses a bad integer or number naming the key, the range and the value", () => {
    expect(refusal("?logLength=abc").message).toBe(
      'invalid URL schema://u:***@h/x?logLength=abc: logLength must be an integer from 10 to 1000000, got "abc"',
    );
    expect(refusal("?logLength=12.5").message).toContain("logLength must be an integer from 10 to 1000000");
    expect(refusal("?logLength=").message).toContain('got ""');
    expect(refusal("?ratio=Infinity").message).toContain("ratio must be a number from 0.01 to 10");
  });

  it("refuses a value out of range", () => {
    expect(refusal("?logLength=9").message).toContain(
      'logLength must be an integer from 10 to 1000000, got "9"',
    );
    expect(refusal("?logLength=1000001").message).toContain('got "1000001"');
    expect(refusal("?ratio=0").message).toContain('ratio must be a number from 0.01 to 10, got "0"');
  });

  it("refuses a word outside an enum, listing the allowed words", () => {
    expect(refusal("?auth=always").message).toContain('auth must be none or inherit, got "always"');
  });

  it("refuses a boolean that is not true/1/false/0", () => {
    expect(refusal("?rejectUnauthorized=yes").message).toContain(
      'rejectUnauthorized must be true or false, got "yes"',
    );
  });

  it("refuses a string that does not match its pattern, and an empty file path", () => {
    expect(refusal("?prefix=ABC").message).toContain('prefix must be 1–8 lower-case letters, got "ABC"');
    expect(refusal("?prefix=abcdefghi").message).toContain("prefix must be");
    expect(refusal("?ca=").message).toContain("ca must name a file");
  });

  it("refuses a key given twice", () => {
    expect(refusal("?logLength=10&logLength=20").message).toContain("logLength is given more than once");
    expect(refusal("?sessionTimeout=1000&sessionTimeout=2000").message).toContain(
      "sessionTimeout is given more than once",
    );
  });

  it("refuses an unknown key, listing the known ones (new spellings only)", () => {
    expect(refusal("?logLenght=10").message).toContain(
      'unknown option "logLenght" for schema; known options: sessionTimeout, retryInterval, namespace, connectTimeout, pollInterval, maxMetadataBytes, logLength, ratio, auth, mode, rejectUnauthorized, ca, prefix, token',
    );
  });

  it("accepts an old spelling with one deprecation warning per connect naming the new key", () => {
    const logger = recordingLogger();
    const { options } = read("?tlsRejectUnauthorized=false&tlsCaFile=%2Fca.pem", logger);
    expect(options).toMatchObject({ rejectUnauthorized: false, ca: "/ca.pem" });
    expect(logger.warnings.map((w) => w.message)).toEqual([
      "URL option tlsRejectUnauthorized is deprecated: use rejectUnauthorized",
      "URL option tlsCaFile is deprecated: use ca",
    ]);
    expect(logger.warnings[1]?.fields).toEqual({ option: "tlsCaFile", replacement: "ca" });
    // A driver reading its options again (config.options, or a hand-built config) warns no more.
    const url = parseUrl("schema://h?tlsCaFile=%2Fca.pem");
    expect(parseParams(url, PARAMS).ca).toBe("/ca.pem");
    expect(logger.warnings).toHaveLength(2);
  });

  it("warns about a deprecated enum word, which is not listed as allowed", () => {
    const logger = recordingLogger();
    expect(read("?mode=maybe", logger).options).toMatchObject({ mode: "maybe" });
    expect(logger.warnings.map((w) => w.message)).toEqual([
      "URL option mode=maybe is deprecated: use mode=on",
    ]);
    expect(refusal("?mode=toString").message).toContain('mode must be on or off, got "toString"');
  });

  it("refuses an old and a new spelling given together (or two old ones)", () => {
    expect(refusal("?tlsCaFile=%2Fa.pem&ca=%2Fb.pem").message).toContain(
      "tlsCaFile and ca are the same option (ca is its name now): give only ca",
    );
    expect(refusal("?tlsCaFile=%2Fa.pem&caFile=%2Fb.pem").message).toContain("give only ca");
  });

  it("never echoes a secret: not in the error, not in the redacted URL", () => {
    const error = refusal("?token=not-hex-topsecret");
    expect(error.message).toContain("token must be 32 hex digits, got a value that is not shown (secret)");
    expect(error.message).toContain("token=***");
    expect(error.message).not.toContain("topsecret");
    const other = refusal("?token=not-hex-topsecret&logLength=1");
    expect(other.message).toContain("logLength must be");
    expect(other.message).not.toContain("topsecret");
    const url = parseUrl("schema://h?token=0123456789abcdef0123456789abcdef&bogus=1");
    expect(() => readUrlOptions(url, backend as BackendDefinition)).toThrow(/unknown option "bogus"/);
    expect(url.redacted).toBe("schema://h?token=***&bogus=1");
  });

  it("keeps the deprecated list of names working: those keys arrive as strings", () => {
    const legacy = { ...backend, params: ["flag"] } as BackendDefinition;
    expect(readUrlOptions(parseUrl("schema://h?flag=x"), legacy).options).toEqual({ flag: "x" });
    expect(() => readUrlOptions(parseUrl("schema://h?other=1"), legacy)).toThrow(
      /known options: .*maxMetadataBytes, flag$/,
    );
  });
});

describe("driverOptions()", () => {
  const base = { memberId: "m", namespace: "n", sessionTimeout: 1000, maxMetadataBytes: 100 };
  const logger = recordingLogger();

  it("returns what core parsed at connect, typed by the schema", () => {
    const url = parseUrl("schema://h?logLength=50");
    const { options, given } = readUrlOptions(url, backend as BackendDefinition);
    const config: DriverConfig<typeof PARAMS> = {
      ...base,
      url,
      logger,
      options: options as ParamValues<typeof PARAMS>,
      given,
    };
    const read = driverOptions(config, PARAMS);
    const logLength: number = read.options.logLength;
    const ca: string | undefined = read.options.ca;
    const auth: "none" | "inherit" = read.options.auth;
    expect({ logLength, ca, auth }).toEqual({ logLength: 50, ca: undefined, auth: "none" });
    expect(read.given.size).toBe(0);
  });

  it("parses a hand-built config, seeing the common keys a test removed from url.params", () => {
    const url = parseUrl("schema://h?sessionTimeout=3000&logLength=20");
    url.params.delete("sessionTimeout");
    const read = driverOptions({ ...base, url, logger }, PARAMS);
    expect(read.options.logLength).toBe(20);
    expect(read.given.has("sessionTimeout")).toBe(true);
    expect(read.given.has("retryInterval")).toBe(false);
    expect(() => driverOptions({ ...base, url: parseUrl("schema://h?logLength=1"), logger }, PARAMS)).toThrow(
      /logLength must be an integer/,
    );
  });

  it("createDriver() hands the options and the given common keys to create(), warning on the logger", async () => {
    let seen: DriverConfig<typeof PARAMS> | undefined;
    registerBackend({
      ...backend,
      schemes: ["schemaseen"],
      create(config) {
        seen = config;
        throw new RollcallError("INVALID_ARGUMENT", "stop here");
      },
    });
    const warnings = recordingLogger();
    await expect(
      createDriver("schemaseen://h?retryInterval=100&tlsCaFile=%2Fca.pem&auth=inherit", {
        memberId: "m",
        logger: warnings,
      }),
    ).rejects.toThrow("stop here");
    expect(seen?.options).toMatchObject({ ca: "/ca.pem", auth: "inherit", logLength: 1000 });
    expect([...(seen?.given ?? [])]).toEqual(["retryInterval"]);
    expect(warnings.warnings).toHaveLength(1);
  });
});

describe("readPemFile()", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-pem-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the file", async () => {
    const path = join(dir, "ca.pem");
    writeFileSync(path, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    expect((await readPemFile("ca", path)).toString()).toContain("BEGIN CERTIFICATE");
  });

  it("names the key and the path, never the contents, in INVALID_ARGUMENT", async () => {
    const missing = join(dir, "missing.pem");
    const error = await readPemFile("ca", missing, parseUrl("x://u:pw-s3cret@h")).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toBe(
      `invalid URL x://u:***@h: cannot read the ca file ${JSON.stringify(missing)} (ENOENT)`,
    );
    // A directory: the path exists but is not a file.
    const key = await readPemFile("key", dir).catch((e: unknown) => e);
    expect((key as Error).message).toBe(`cannot read the key file ${JSON.stringify(dir)} (EISDIR)`);
  });
});
