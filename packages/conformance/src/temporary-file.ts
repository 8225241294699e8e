import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A path named `name` in a fresh temporary directory (`os.tmpdir()/rollcall-<kind>-…`), for a
 * target that is a file — an embedded database — and `remove()`, which deletes the directory and
 * everything in it (the file and whatever the backend put next to it: journals, WAL files).
 */
export function temporaryFile(kind: string, name: string): { path: string; remove(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `rollcall-${kind}-`));
  return { path: join(dir, name), remove: async () => rmSync(dir, { recursive: true, force: true }) };
}
