import { type Coordinator, connect } from "@rollcall/core";
import { type MemberScript, type RunningMember, runMemberScript } from "./member-script.js";
import { MessageLog, type Participant } from "./message-log.js";
import type { SessionControl } from "./options.js";

/**
 * An in-process member for `scope: "process"` backends, crashed and frozen through the backend's
 * {@link SessionControl} instead of signals.
 */
export class LocalMember extends MessageLog implements Participant {
  private coord: Coordinator | undefined;
  private running: RunningMember | undefined;
  killedAt: number | undefined;

  constructor(
    url: string,
    memberId: string,
    script: MemberScript,
    private readonly control: SessionControl,
  ) {
    super(memberId);
    const send = (message: Record<string, unknown>) =>
      this.push({ ...message, type: String(message.type), at: Date.now() });
    void (async () => {
      try {
        this.coord = await connect(url, { memberId });
        this.running = await runMemberScript(this.coord, script, send);
      } catch (error) {
        send({ type: "fatal", message: String(error) });
      }
    })();
  }

  async kill(): Promise<void> {
    this.killedAt = Date.now();
    this.control.expire(this.memberId);
    this.running?.stop();
    this.gone = "was killed";
    this.wake();
    await this.coord?.close();
  }

  freeze(): void {
    this.control.freeze(this.memberId);
  }

  thaw(): void {
    this.control.thaw(this.memberId);
  }

  close(): void {
    this.running?.stop();
    void this.coord?.close().then(() => this.push({ type: "closed", at: Date.now() }));
  }

  resign(): void {
    void this.running?.resign().then(() => this.push({ type: "resigned", at: Date.now() }));
  }

  async dispose(): Promise<void> {
    this.running?.stop();
    try {
      this.control.thaw(this.memberId);
    } catch {}
    await this.coord?.close();
  }
}
