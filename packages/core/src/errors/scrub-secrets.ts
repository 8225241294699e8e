/** Secrets shorter than this are not scrubbed: replacing every "ab" in a message would garble it, not protect it. */
const MIN_SECRET_LENGTH = 3;

/** How deep a chain of `cause`s is followed. */
const MAX_DEPTH = 8;

/**
 * Removes every occurrence of each of `secrets` (the URL's password, the values of secret URL keys) from
 * `error`'s message and stack and from those of its chain of `cause`s, replacing them with `***`. Errors
 * are changed in place and returned (a string is returned scrubbed); anything else is returned as is.
 * This is core's one place for it: whatever a driver or its client library put in a failure of `open()`,
 * no secret reaches the caller or a log through it.
 */
export function scrubSecrets<T>(error: T, secrets: readonly string[]): T {
  const hidden = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);
  if (hidden.length === 0) return error;
  const scrub = (text: string): string => hidden.reduce((out, secret) => out.split(secret).join("***"), text);
  if (typeof error === "string") return scrub(error) as T;
  const seen = new Set<unknown>();
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && !seen.has(current) && depth < MAX_DEPTH; depth++) {
    seen.add(current);
    const message = scrub(current.message);
    if (message !== current.message) current.message = message;
    if (typeof current.stack === "string") {
      const stack = scrub(current.stack);
      if (stack !== current.stack) current.stack = stack;
    }
    current = current.cause;
  }
  return error;
}

/**
 * Every secret a connection URL holds, in each spelling it may be echoed in: the password (decoded and as
 * written) and the values of the keys `secretKeys` names.
 */
export function urlSecrets(
  url: { password?: string; params: URLSearchParams },
  secretKeys: readonly string[],
): string[] {
  const values = new Set<string>();
  const add = (value: string | null | undefined) => {
    if (value === null || value === undefined || value === "") return;
    values.add(value);
    values.add(encodeURIComponent(value));
  };
  add(url.password);
  for (const key of secretKeys) for (const value of url.params.getAll(key)) add(value);
  return [...values];
}
