import { describe, expect, it } from "vitest";
import { linkedSignal } from "../src/internal/abort.js";
import { collectGarbage } from "./support/gc.js";

describe("linkedSignal", () => {
  it("aborts on its deadline even when garbage collection runs in between", async () => {
    const { signal } = linkedSignal([new AbortController().signal], 200);
    await collectGarbage(100);
    await new Promise((r) => setTimeout(r, 500));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("aborts with a source's reason, and dispose() detaches the deadline", async () => {
    const source = new AbortController();
    const linked = linkedSignal([source.signal, undefined], 10_000);
    source.abort(new Error("stop"));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe("stop");
    expect(linked.timedOut).toBe(false);
    const quiet = linkedSignal([], 50);
    quiet.dispose();
    await new Promise((r) => setTimeout(r, 120));
    expect(quiet.signal.aborted).toBe(false);
  });
});
