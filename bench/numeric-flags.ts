import { HarnessError } from "../harness/errors.js";

/**
 * A benchmark's numeric flags over its defaults, each `--name N` or `--name=N`: a flag it does not know, a flag
 * without a value, or a value that is not a whole number of at least `min(name)` (1 unless told) is a usage error
 * (`HARNESS_ERR_USAGE`, exit 2 in bench/main.ts) naming the argument as given and the flags it knows.
 */
export function numericFlags<T extends Record<string, number>>(args: readonly string[], defaults: T, options: { min?: (name: string) => number; hint?: string } = {}): T {
  const values: Record<string, number> = { ...defaults };
  const min = options.min ?? (() => 1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq >= 0 ? eq : undefined) : "";
    const raw = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (!Object.hasOwn(defaults, name) || raw === undefined || !/^\d+$/.test(raw) || Number(raw) < min(name)) {
      const shown = eq >= 0 ? arg : raw === undefined ? `${arg} (no value)` : `${arg} ${raw}`;
      const known = Object.keys(defaults).map((key) => `--${key} N`).join(" ");
      throw new HarnessError("HARNESS_ERR_USAGE", `unknown or bad argument ${shown}; known: ${known} (${options.hint ?? "positive integers"})`);
    }
    values[name] = Number(raw);
  }
  return values as T;
}
