/**
 * Prometheus metrics and health probes for a rollcall `Coordinator`: session
 * state, expirations, renewal round trips, group sizes and events, leadership and locks, reactors, in a
 * `prom-client` registry you own; `/healthz`, `/readyz` and a leader probe; a `node:http` handler
 * serving them inside your own server, or a small server of its own. Core stays free of HTTP.
 * @packageDocumentation
 */

export {
  type CoordinatorMetrics,
  type CoordinatorMetricsOptions,
  coordinatorMetrics,
  DEFAULT_PREFIX,
  LOCK_WAIT_BUCKETS,
  METRICS,
  type MetricDefinition,
  type MetricName,
  RENEWAL_BUCKETS,
} from "./coordinator-metrics.js";
export { type MetricSample, parsePrometheusText, sampleValue } from "./exposition.js";
export { type HealthProbes, healthProbes, type LeaderQuery, type ProbeResult } from "./health-probes.js";
export { HTTP_PATHS, type HttpHandler, type HttpHandlerOptions, httpHandler } from "./http-handler.js";
export {
  type HttpServer,
  type ListenHttpOptions,
  listenHttp,
  type MetricsServer,
  type ServeMetricsOptions,
  serveMetrics,
} from "./http-server.js";
export { DEFAULT_LISTEN_HOST, httpUrl, type ListenAddress, parseListenAddress } from "./listen-address.js";
export {
  DEFAULT_READ_INTERVAL,
  DEFAULT_READ_TIMEOUT,
  HANDLER_BUCKETS,
  REACTOR_METRICS,
  type ReactorMetricName,
  type ReactorMetrics,
  type ReactorMetricsOptions,
  reactorMetrics,
} from "./reactor-metrics.js";
