import type { Check, CheckName } from "./check.js";
import { convergence } from "./convergence.js";
import { crossInstanceLookup } from "./cross-instance-lookup.js";
import { degradedMode } from "./degraded-mode.js";
import { delivery } from "./delivery.js";
import { halfOpenCleanup } from "./half-open-cleanup.js";
import { metricsAgree } from "./metrics-agree.js";
import { noGhosts } from "./no-ghosts.js";
import { packetFaults } from "./packet-faults.js";
import { protocolConformance } from "./protocol-conformance.js";
import { pauseRecovery } from "./pause-recovery.js";
import { restartSurvival } from "./restart-survival.js";
import { slowConsumer } from "./slow-consumer.js";
import { promptCleanup } from "./prompt-cleanup.js";
import { keyTtl, stateAudit } from "./state-audit.js";
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
  "protocol-conformance": protocolConformance,
  convergence,
  "half-open-cleanup": halfOpenCleanup,
  "slow-consumer": slowConsumer,
  "prompt-cleanup": promptCleanup,
  "state-audit": stateAudit,
  "key-ttl": keyTtl,
  "pause-recovery": pauseRecovery,
  "packet-faults": packetFaults,
  "metrics-agree": metricsAgree,
});
