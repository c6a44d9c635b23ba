import type { Check, CheckName } from "./check.js";
import { crossInstanceLookup } from "./cross-instance-lookup.js";
import { degradedMode } from "./degraded-mode.js";
import { delivery } from "./delivery.js";
import { noGhosts } from "./no-ghosts.js";
import { pauseRecovery } from "./pause-recovery.js";
import { restartSurvival } from "./restart-survival.js";
import { tenantIsolation } from "./tenant-isolation.js";
import { ttlExpiry } from "./ttl-expiry.js";

/** Every check, by invariant name. A scenario may only name these. */
export const CHECKS: Readonly<Partial<Record<CheckName, Check>>> = Object.freeze({
  "restart-survival": restartSurvival,
  "cross-instance-lookup": crossInstanceLookup,
  "ttl-expiry": ttlExpiry,
  "no-ghosts": noGhosts,
  "tenant-isolation": tenantIsolation,
  delivery,
  "degraded-mode": degradedMode,
  "pause-recovery": pauseRecovery,
});
