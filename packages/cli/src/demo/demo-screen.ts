/**
 * What the demo shows: members up, the current leader, the phase and the event log. Interactive mode
 * redraws the terminal in place; otherwise every log line is printed once, with a timestamp.
 */
export class DemoScreen {
  backend = "";
  phase = "";
  leader = "(none)";
  members: string[] = [];
  private readonly lines: string[] = [];
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly interactive: boolean,
    private readonly print: (line: string) => void,
    private readonly url: string,
  ) {
    if (interactive) {
      this.timer = setInterval(() => this.draw(), 150);
      this.timer.unref();
    } else {
      print(`rollcall demo: ${url}`);
    }
  }

  log(line: string): void {
    const stamped = `${((Date.now() - this.started) / 1000).toFixed(3).padStart(8)} s  ${line}`;
    this.lines.push(stamped);
    if (this.lines.length > 500) this.lines.shift();
    if (!this.interactive) this.print(stamped);
  }

  private draw(): void {
    const rows = process.stdout.rows ?? 30;
    const out: string[] = [
      "\x1b[2J\x1b[H\x1b[1mrollcall demo\x1b[0m",
      `backend  ${this.backend}`,
      `url      ${this.url}`,
      `phase    \x1b[33m${this.phase}\x1b[0m`,
      `leader   \x1b[32m${this.leader}\x1b[0m`,
      `up (${this.members.length})   ${this.members.join("  ")}`,
      "",
      "\x1b[1mevents\x1b[0m",
      ...this.lines.slice(-(rows - 10)),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.draw();
    }
  }
}
