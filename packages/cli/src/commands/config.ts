import type { ConfigWriteOptions, Coordinator, Json } from "@rollcall/core";
import { type Args, option, positionals } from "../args.js";
import { UsageError } from "../errors.js";
import { configEventJson, configEventLine, entriesTable, entryJson, type Print } from "../output.js";

/** What each `config` subcommand accepts besides `--url`, `--id`, `--json` and `--help`. */
const OPTIONS: Record<string, readonly string[]> = {
  get: [],
  set: ["if-version", "string"],
  delete: ["if-version"],
  list: ["prefix"],
  watch: ["prefix"],
};
/** Options and flags that only some subcommands take. */
const SPECIFIC = ["if-version", "string", "prefix"];

/** How much of a refused value a usage error quotes. */
const QUOTED = 80;

/**
 * `rollcall config get|set|delete|list|watch`: a configuration store (`coord.config(name)`) from the
 * terminal. Values are JSON; versions are printed as decimal strings. `VERSION_MISMATCH` of a failed
 * `--if-version` reaches the caller's error path (the CLI exits 4).
 */
export async function configCommand(
  coord: Coordinator,
  args: Args,
  print: Print,
  stop: AbortSignal,
): Promise<number> {
  const [subcommand, ...operands] = [...args.positionals, ...args.rest];
  if (subcommand === undefined) throw new UsageError("missing <get|set|delete|list|watch>");
  const accepted = OPTIONS[subcommand];
  if (accepted === undefined)
    throw new UsageError(
      `unknown config subcommand ${JSON.stringify(subcommand)}: one of get, set, delete, list, watch`,
    );
  for (const name of SPECIFIC) {
    if ((args.options.has(name) || args.flags.has(name)) && !accepted.includes(name))
      throw new UsageError(`config ${subcommand} takes no --${name}`);
  }
  const sub: Args = { ...args, positionals: operands, rest: [] };
  const json = args.flags.has("json");
  switch (subcommand) {
    case "get":
      return get(coord, sub, json, print);
    case "set":
      return set(coord, sub, json, print);
    case "delete":
      return remove(coord, sub, json, print);
    case "list":
      return list(coord, sub, json, print);
    default:
      return watch(coord, sub, json, print, stop);
  }
}

/** `config get <name> <key>`: the entry, or exit 1 when there is none (`null` with `--json`). */
async function get(coord: Coordinator, args: Args, json: boolean, print: Print): Promise<number> {
  const [name, key] = positionals(args, ["name", "key"]) as [string, string];
  const entry = await coord.config(name).get(key);
  if (json) print(JSON.stringify(entry ? entryJson(entry) : null));
  else print(entry ? entriesTable([entry]) : `(no entry ${key} in ${name})`);
  return entry ? 0 : 1;
}

/** `config set <name> <key> <json-value> [--if-version N] [--string]`: prints the new version. */
async function set(coord: Coordinator, args: Args, json: boolean, print: Print): Promise<number> {
  const [name, key, raw] = positionals(args, ["name", "key", "json-value"]) as [string, string, string];
  const value = args.flags.has("string") ? raw : parseValue(raw);
  const version = await coord.config(name).set(key, value, writeOptions(args, 0n));
  if (json) print(JSON.stringify({ config: name, key, version: version.toString() }));
  else print(`set ${key} in ${name}: version ${version}`);
  return 0;
}

/** `config delete <name> <key> [--if-version N]`: exit 0 also when there was nothing to delete. */
async function remove(coord: Coordinator, args: Args, json: boolean, print: Print): Promise<number> {
  const [name, key] = positionals(args, ["name", "key"]) as [string, string];
  const deleted = await coord.config(name).delete(key, writeOptions(args, 1n));
  if (json) print(JSON.stringify({ config: name, key, deleted }));
  else print(deleted ? `deleted ${key} from ${name}` : `(no entry ${key} in ${name}: nothing deleted)`);
  return 0;
}

/** `config list`: the store names; `config list <name> [--prefix P]`: its entries and their revision. */
async function list(coord: Coordinator, args: Args, json: boolean, print: Print): Promise<number> {
  const [name] = positionals(args, [], ["name"]);
  const prefix = option(args, "prefix");
  if (name === undefined) {
    if (prefix !== undefined) throw new UsageError("--prefix needs a configuration <name>");
    const names = await coord.configs();
    if (json) print(JSON.stringify(names));
    else print(names.length === 0 ? "(no configurations)" : names.join("\n"));
    return 0;
  }
  const snapshot = await coord.config(name).entries(prefix === undefined ? undefined : { prefix });
  if (json)
    print(
      JSON.stringify({
        config: name,
        revision: snapshot.revision.toString(),
        entries: snapshot.entries.map(entryJson),
      }),
    );
  else print(snapshot.entries.length === 0 ? "(no entries)" : entriesTable(snapshot.entries));
  return 0;
}

/** `config watch <name> [--prefix P]`: a snapshot, then every put and delete, until stopped. */
async function watch(
  coord: Coordinator,
  args: Args,
  json: boolean,
  print: Print,
  stop: AbortSignal,
): Promise<number> {
  const [name] = positionals(args, ["name"]) as [string];
  const prefix = option(args, "prefix");
  const events = coord.config(name).watch({ signal: stop, ...(prefix === undefined ? {} : { prefix }) });
  for await (const event of events)
    print(json ? JSON.stringify(configEventJson(event)) : configEventLine(event));
  return 0;
}

/**
 * A command-line value as JSON. Text that is not JSON is a usage error rather than a guess: `5` is a
 * number and `"5"` a string, always; `--string` stores the argument as it is.
 */
function parseValue(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    const quoted = raw.length > QUOTED ? `${raw.slice(0, QUOTED)}…` : raw;
    throw new UsageError(
      `<json-value> must be JSON (5, true, null, "text", [1,2], {"a":1}), got ${JSON.stringify(quoted)}: quote a string ('"text"') or pass --string`,
    );
  }
}

/** `--if-version N` as write options: a decimal integer ≥ `min` (`0`: only if absent, for set). */
function writeOptions(args: Args, min: 0n | 1n): ConfigWriteOptions | undefined {
  const raw = option(args, "if-version");
  if (raw === undefined) return undefined;
  if (!/^\d{1,30}$/.test(raw) || BigInt(raw) < min)
    throw new UsageError(
      min === 0n
        ? `--if-version must be a version (an integer ≥ 0; 0: only if absent), got ${JSON.stringify(raw)}`
        : `--if-version must be a version (an integer ≥ 1), got ${JSON.stringify(raw)}`,
    );
  return { ifVersion: BigInt(raw) };
}
