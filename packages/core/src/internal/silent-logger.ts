import type { Logger } from "../types.js";

/** The default logger: says nothing. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
