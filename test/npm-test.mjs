/**
 * `npm test`: the typecheck (`tsc --noEmit`) and `vitest run` side by side, instead of one after the other: tsc
 * takes about 12 s of one core, and the first file vitest runs (`cleanup`, alone in its group: vitest.config.ts)
 * leaves the other core mostly idle. Arguments go to vitest (`npm test -- test/unit/foo.test.ts`).
 *
 * The tests always run to their end; a typecheck failure is said as soon as it happens, repeated after the
 * tests with tsc's output, and the exit code is 1 if either failed (vitest's own code when only it failed).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin");

const tsc = spawn(join(bin, "tsc"), ["--noEmit"], { stdio: ["ignore", "pipe", "pipe"] });
let tscOutput = "";
tsc.stdout.setEncoding("utf8").on("data", (chunk) => (tscOutput += chunk));
tsc.stderr.setEncoding("utf8").on("data", (chunk) => (tscOutput += chunk));
const tscExit = once(tsc, "close").then(([code, signal]) => {
  const failed = code !== 0;
  if (failed) process.stderr.write(`\nnpm test: the typecheck (tsc --noEmit) failed (${signal ?? `exit ${code}`}); the tests go on, its errors follow them\n`);
  return failed;
}, (error) => {
  tscOutput += String(error);
  return true;
});

const vitest = spawn(join(bin, "vitest"), ["run", ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches both children through the terminal's process group: this process waits for vitest to clean up
// rather than end first. A SIGTERM or SIGHUP sent to this process alone is passed on.
process.on("SIGINT", () => undefined);
for (const signal of ["SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    tsc.kill(signal);
    vitest.kill(signal);
  });
}
const [vitestCode, vitestSignal] = await once(vitest, "close");
const typecheckFailed = await tscExit;
if (typecheckFailed) process.stderr.write(`\nnpm test: tsc --noEmit failed:\n${tscOutput}\n`);
const vitestFailed = vitestCode !== 0;
process.exitCode = vitestFailed ? (vitestCode ?? 1) : typecheckFailed ? 1 : 0;
if (vitestSignal) process.stderr.write(`npm test: vitest ended on ${vitestSignal}\n`);
