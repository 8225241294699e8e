/**
 * The `rollcall` command, as a library: {@link runCli}.
 * @packageDocumentation
 */
export { type CliIo, runCli } from "./cli.js";
export { DEFAULT_URL, resolveUrl } from "./connection.js";
