import { eventually } from "@rollcall/conformance";
import { type MetricSample, parsePrometheusText, sampleValue } from "../../src/index.js";

/** An HTTP answer: status, headers and body text. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** GET (or another method) over real HTTP. */
export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** Scrapes `/metrics` and parses it. */
export async function scrape(base: string): Promise<MetricSample[]> {
  const answer = await request(`${base}/metrics`);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}: ${answer.body}`);
  return parsePrometheusText(answer.body);
}

/** Scrapes until the sample's value satisfies `check`; returns the samples of that scrape. */
export async function untilSample(
  base: string,
  name: string,
  labels: Record<string, string>,
  check: (value: number | undefined) => boolean,
  timeout: number,
): Promise<MetricSample[]> {
  let last: MetricSample[] = [];
  await eventually(
    async () => {
      last = await scrape(base);
      return check(sampleValue(last, name, labels));
    },
    timeout,
    `${name}${JSON.stringify(labels)} to reach the expected value`,
  );
  return last;
}

/** Probes until the path answers `status`. */
export async function untilStatus(
  base: string,
  path: string,
  status: number,
  timeout: number,
): Promise<Answer> {
  let last: Answer | undefined;
  await eventually(
    async () => {
      last = await request(`${base}${path}`);
      return last.status === status;
    },
    timeout,
    `${path} to answer ${status}`,
  );
  return last as Answer;
}
