/** Progress lines on stderr: elapsed time, how many scenario runs are done, what runs now. */
export class Progress {
  private readonly started = Date.now();
  private done = 0;

  constructor(private readonly total: number) {}

  private stamp(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }

  /** A line of its own. */
  info(text: string): void {
    process.stderr.write(`[${this.stamp()}] ${text}\n`);
  }

  /** Something a scenario is doing now. */
  step(subject: string, scenario: string, text: string): void {
    process.stderr.write(`[${this.stamp()} ${this.done}/${this.total}] ${subject} ${scenario}: ${text}\n`);
  }

  /** A scenario run finished. */
  finished(subject: string, scenario: string, outcome: string): void {
    this.done++;
    process.stderr.write(`[${this.stamp()} ${this.done}/${this.total}] ${subject} ${scenario}: ${outcome}\n`);
  }
}
