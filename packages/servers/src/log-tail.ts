import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * The last `lines` lines of a text file, read from its end (at most the last 64 KiB).
 * Returns "" when the file does not exist.
 *
 * @param file - path of the log file.
 * @param lines - how many lines to keep. Default 20.
 */
export function readLogTail(file: string, lines = 20): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString("utf8").replace(/\s+$/, "");
    return text.split("\n").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}
