/** The reproduce command of the verdict header. */
import type { PageRun } from "./run-model.js";
import { num, obj, shellQuote, text } from "./values.js";

/** The command that reruns a scenario, and what it cannot carry. */
export interface Repro {
  command: string;
  /** False when the run recorded no seed (the command then draws a new one). */
  seedKnown: boolean;
  /** Name of the system under test ("" when unknown). */
  sut: string;
  /** Extra gateway environment set by the caller, as `NAME=value`. */
  gatewayEnv: string[];
}

/** The exact CLI command that reruns this scenario with the same seed and options. */
export function reproCommand(run: PageRun): Repro {
  const config = obj(run.config);
  const overrides = obj(config.overrides);
  const args = ["npm", "run", "scenario", "--", text(run.scenario, "SCENARIO")];
  const seed = num(run.seed) ?? num(config.seed);
  if (seed !== null) args.push("--seed", String(seed));
  const profile = text(run.profile, text(config.profile));
  if (profile) args.push("--profile", profile);
  if (text(config.runtime)) args.push("--runtime", text(config.runtime));
  if (text(config.registry)) args.push("--registry", text(config.registry));
  if (num(overrides.instances) !== null) args.push("--instances", String(overrides.instances));
  if (num(overrides.clients) !== null) args.push("--clients", String(overrides.clients));
  if (num(overrides.duration_s) !== null) args.push("--duration", String(overrides.duration_s));
  const sut = obj(config.sut);
  if (text(sut.name) && sut.name !== "reference") args.push("--sut", "SUT.json");
  const env = obj(config.gateway_env);
  const gatewayEnv = Object.keys(env).map((k) => `${k}=${String(env[k])}`);
  return { command: args.map(shellQuote).join(" "), seedKnown: seed !== null, sut: text(sut.name), gatewayEnv };
}
