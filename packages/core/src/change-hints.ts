import type { Driver } from "./driver/driver.js";

/** A driver's change hints (`Driver.changeHints`) as core's feeds use them. */
export interface ChangeHints {
  /** Subscribes to the hints; `topic` names what changed (a group, `configHintTopic(store)`), if known. */
  subscribe(listener: (topic?: string) => void): () => void;
  /**
   * Whether the hints are the server's push (the driver declares `watch: "push"` and reads through
   * `changes()`): feeds then read on a hint only, never on a timer.
   */
  pushed: boolean;
}

/** The driver's change hints, or `undefined` when it gives none. */
export function changeHintsOf(driver: Driver): ChangeHints | undefined {
  const subscribe = driver.changeHints?.bind(driver);
  if (subscribe === undefined) return undefined;
  return { subscribe, pushed: driver.characteristics.watch === "push" };
}

/**
 * The part of a feed's source that comes from `hints` (nothing without them): the hints about `topic`
 * (those naming no topic included), and whether they are pushed.
 */
export function hintsAbout(
  hints: ChangeHints | undefined,
  topic: string,
): { hints?: (listener: () => void) => () => void; pushed?: boolean } {
  if (hints === undefined) return {};
  return {
    hints: (listener) =>
      hints.subscribe((about) => {
        if (about === undefined || about === topic) listener();
      }),
    pushed: hints.pushed,
  };
}
