import type { ServerResponse } from "node:http";

/**
 * One page's server-sent event stream. Deltas queued in the same turn of the event loop go out as one
 * event (a JSON array). A client that does not read — its unsent output passes `maxBufferedBytes` on
 * top of the snapshot — is disconnected: its browser reconnects and starts again from a fresh
 * snapshot, so a slow client never costs more than that buffer.
 */
export class EventStream {
  private pending: string[] = [];
  private scheduled = false;
  private allowance: number;
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    snapshot: string,
    private readonly maxBufferedBytes: number,
  ) {
    // `retry`: how soon the browser reconnects after the stream ends.
    const first = `retry: 1000\ndata: [${snapshot}]\n\n`;
    this.allowance = Buffer.byteLength(first) + maxBufferedBytes;
    response.write(first);
  }

  /** Queues a delta (JSON) for the next flush. */
  send(json: string): void {
    if (this.ended) return;
    this.pending.push(json);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** A comment line that keeps proxies from closing an idle stream and finds dead peers. */
  heartbeat(): void {
    if (!this.ended) this.write(": keep-alive\n\n");
  }

  /** Ends the stream (the browser will reconnect). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.response.end();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.ended || this.pending.length === 0) return;
    const batch = `data: [${this.pending.join(",")}]\n\n`;
    this.pending = [];
    this.write(batch);
  }

  private write(text: string): void {
    if (this.response.destroyed) {
      this.ended = true;
      return;
    }
    this.response.write(text);
    if (this.response.writableLength > this.allowance) {
      this.ended = true;
      this.pending = [];
      this.response.destroy();
      return;
    }
    // Once the snapshot has drained, only the configured buffer is allowed.
    if (this.response.writableLength === 0) this.allowance = this.maxBufferedBytes;
  }
}
