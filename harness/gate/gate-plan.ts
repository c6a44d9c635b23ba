/**
 * The gate's plan, without running anything: which scenarios run unbroken, and for every negative-control defect
 * of the reference gateway (src/gateway/failpoints.ts, read as data so that a failpoint added there appears here
 * by itself) in which order the scenarios are tried against it.
 */
import { FAILPOINTS, type FailpointSpec } from "../../src/gateway/failpoints.js";
import { HarnessError } from "../errors.js";

/** One defect's row of the matrix: the scenarios to try, in order. */
export interface DefectPlan {
  readonly defect: FailpointSpec;
  /** `caughtBy` first (those that exist and are selected), then every other selected scenario in name order. */
  readonly scenarios: readonly string[];
}

/** The failpoints named in `names` (every one when absent), in catalogue order; an unknown name is a usage error. */
export function selectDefects(names: readonly string[] | undefined, catalogue: readonly FailpointSpec[] = FAILPOINTS): FailpointSpec[] {
  if (names === undefined) return [...catalogue];
  const known = new Map(catalogue.map((spec) => [spec.name as string, spec]));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new HarnessError("HARNESS_ERR_USAGE", `--defects: unknown defect ${unknown.map((n) => JSON.stringify(n)).join(", ")}; known: ${[...known.keys()].join(", ")}`);
  return catalogue.filter((spec) => names.includes(spec.name));
}

/** The scenarios named in `names` (every available one when absent), in name order; an unknown name is a usage error. */
export function selectScenarios(names: readonly string[] | undefined, available: readonly string[]): string[] {
  if (names === undefined) return [...available].sort();
  const unknown = names.filter((name) => !available.includes(name));
  if (unknown.length > 0) throw new HarnessError("HARNESS_ERR_USAGE", `--scenarios: unknown scenario ${unknown.map((n) => JSON.stringify(n)).join(", ")}; available: ${available.join(", ")}`);
  return [...available].filter((name) => names.includes(name)).sort();
}

/** The order in which the scenarios are tried against each defect. */
export function planMatrix(defects: readonly FailpointSpec[], scenarios: readonly string[]): DefectPlan[] {
  return defects.map((defect) => {
    const first = defect.caughtBy.filter((name) => scenarios.includes(name));
    return { defect, scenarios: [...first, ...scenarios.filter((name) => !first.includes(name))] };
  });
}
