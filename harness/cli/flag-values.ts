import { HarnessError } from "../errors.js";

/** A bad command line: the stable `HARNESS_ERR_USAGE` every CLI of the harness exits 2 with. */
export function usage(message: string): HarnessError {
  return new HarnessError("HARNESS_ERR_USAGE", message);
}

/** `--flag N`: an integer in `min..max`, or undefined when absent. */
export function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  // A negative number is an integer too: the message names the range whichever way the value is wrong.
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usage(`--${flag} must be an integer in ${min}..${max} (got ${JSON.stringify(value)})`);
  return n;
}
