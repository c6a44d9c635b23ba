import { probeTenantIsolation } from "../../probes/tenant-isolation-probe.js";
import type { StepHandler } from "../run-context.js";

/** `Step.probeTenantIsolation()`: probes other tenants' data from a tenant of its own. */
export const probeTenantIsolationStep: StepHandler<"probe_tenant_isolation"> = async (step, run, { index }) => {
  run.requireFleet();
  await probeTenantIsolation(run.probeContext(index), { victims: step.victims });
};
