import type { Check, CheckName } from "./check.js";
import { delivery } from "./delivery.js";
import { noGhosts } from "./no-ghosts.js";
import { restartSurvival } from "./restart-survival.js";

/** The checks implemented so far, by invariant name. A scenario may only name these. */
export const CHECKS: Readonly<Partial<Record<CheckName, Check>>> = Object.freeze({
  "restart-survival": restartSurvival,
  "no-ghosts": noGhosts,
  delivery,
});
