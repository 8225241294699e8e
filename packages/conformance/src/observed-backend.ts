import { registerBackend, resolveBackend } from "@rollcall/core";
import type { Driver, SessionListener } from "@rollcall/core/driver";

/**
 * What a driver told core through its {@link SessionListener}, as the kit saw it: a session state, or a
 * renewal with the moment (epoch ms) the acknowledged request was sent.
 */
export type DriverReport =
  | { report: "state"; state: "connected" | "suspended" | "expired" }
  | { report: "renewed"; sentAt: number };

const SUFFIX = "+observed";
const observers = new Map<string, (report: DriverReport) => void>();
const registered = new Set<string>();

/** The epoch-ms moment of a `performance.now()` value. */
function wall(monotonic: number): number {
  return Date.now() - (performance.now() - monotonic);
}

function observe(driver: Driver, memberId: string): Driver {
  const tell = (report: DriverReport) => observers.get(memberId)?.(report);
  const open = (listener: SessionListener, signal: AbortSignal) =>
    driver.open(
      {
        // Told before core hears it: a report and what core does about it keep their order.
        state: (state) => {
          tell({ report: "state", state });
          listener.state(state);
        },
        renewed: (sentAt) => {
          tell({ report: "renewed", sentAt: wall(sentAt) });
          listener.renewed(sentAt);
        },
      },
      signal,
    );
  return new Proxy(driver, {
    get(target, property) {
      if (property === "open") return open;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The URL of an observing twin of `url`'s backend: the same backend registered (once per process) under
 * the scheme `<scheme>+observed`, whose drivers are the backend's own, unchanged, except that whatever
 * they report to core on their {@link SessionListener} is first told to the observer of their member id
 * (see {@link observeDriverReports}). This is how the stall checks see a driver's own `suspended` and
 * `renewed()` reports, apart from what core concludes by itself.
 */
export async function observedUrl(url: string): Promise<string> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new Error("observedUrl: the URL has no scheme");
  if (scheme.endsWith(SUFFIX)) return url;
  const twin = `${scheme}${SUFFIX}`;
  if (!registered.has(twin)) {
    const definition = await resolveBackend(scheme);
    registerBackend({
      ...definition,
      schemes: [twin],
      create: (config) => {
        const redacted = config.url.redacted.startsWith(twin)
          ? `${scheme}${config.url.redacted.slice(twin.length)}`
          : config.url.redacted;
        // The driver sees its own scheme (some choose TLS or a dialect by it).
        return observe(
          definition.create({ ...config, url: { ...config.url, scheme, redacted } }),
          config.memberId,
        );
      },
    });
    registered.add(twin);
  }
  return `${twin}${url.slice(scheme.length)}`;
}

/**
 * Sends every report of the drivers of `memberId` created from an {@link observedUrl} to `observer`, until
 * the returned function is called.
 */
export function observeDriverReports(memberId: string, observer: (report: DriverReport) => void): () => void {
  observers.set(memberId, observer);
  return () => {
    if (observers.get(memberId) === observer) observers.delete(memberId);
  };
}
