import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium (scripts/setup.sh installs it); nothing here downloads a browser. */
export const CHROMIUM = process.env.ROLLCALL_CHROMIUM ?? "/usr/bin/chromium";

/** Launches the system chromium headless, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium, as scripts/setup.sh does) or set ROLLCALL_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}
