import { UsageError } from "./errors.js";

/** Parsed command line: positionals, options (repeatable ones as arrays), and what follows `--`. */
export interface Args {
  positionals: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
  rest: string[];
}

/**
 * Parses `--name value`, `--name=value`, boolean `--flag`s and a trailing `-- command …`.
 * `valued` lists the options that take a value; anything else starting with `--` is a flag.
 */
export function parseArgs(argv: string[], valued: readonly string[], known: readonly string[]): Args {
  const args: Args = { positionals: [], options: new Map(), flags: new Set(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      args.rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (!valued.includes(name) && !known.includes(name)) throw new UsageError(`unknown option --${name}`);
      if (valued.includes(name)) {
        const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        const list = args.options.get(name) ?? [];
        list.push(value);
        args.options.set(name, list);
      } else {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        args.flags.add(name);
      }
    } else if (arg === "-h") {
      args.flags.add("help");
    } else {
      args.positionals.push(arg);
    }
  }
  return args;
}

/** The last value of an option. */
export function option(args: Args, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}

/** A non-negative integer option. */
export function intOption(args: Args, name: string, fallback: number, min = 0): number {
  const raw = option(args, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** The one required positional argument. */
export function positional(args: Args, what: string): string {
  const value = args.positionals[0];
  if (value === undefined) throw new UsageError(`missing <${what}>`);
  if (args.positionals.length > 1)
    throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[1])}`);
  return value;
}

/**
 * Exactly the `required` positionals, then at most the `optional` ones, in order; what follows `--` counts
 * as positionals too (a value that starts with `--`). Names are for the usage error.
 */
export function positionals(
  args: Args,
  required: readonly string[],
  optional: readonly string[] = [],
): string[] {
  const values = [...args.positionals, ...args.rest];
  const missing = required[values.length];
  if (missing !== undefined) throw new UsageError(`missing <${missing}>`);
  if (values.length > required.length + optional.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(values[required.length + optional.length])}`);
  return values;
}
