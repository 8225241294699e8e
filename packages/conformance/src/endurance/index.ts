export type {
  EnduranceOptions,
  EnduranceProfile,
  EnduranceStats,
  EnduranceTarget,
  Storm,
  StormNode,
} from "./options.js";
export { runEndurance } from "./run-endurance.js";
export { resolveProfile, type SoakReport, type SoakSample, type StormReport, soak } from "./soak.js";
export { type EnduranceServer, type StormServer, serverStorms, serverTarget } from "./storms.js";
export { MAX_FD_SLOPE, soakViolations } from "./verdict.js";
export type { WatchTallyReport } from "./watch-tally.js";
