import { describe, expect, it } from "vitest";
import { WriteBatcher } from "./write-batcher.js";

/** A write that settles when the test says so. */
function controlled<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WriteBatcher", () => {
  it("should start a write at the end of the current turn, not synchronously", async () => {
    const batcher = new WriteBatcher();
    let started = false;
    const done = batcher.run(async () => {
      started = true;
      return 1;
    });
    expect(started).toBe(false);
    expect(batcher.waiting).toBe(1);
    await expect(done).resolves.toBe(1);
    expect(started).toBe(true);
  });

  it("should hold writes while a group is in flight and start them together when it ends", async () => {
    const batcher = new WriteBatcher();
    const first = controlled<string>();
    const starts: string[] = [];
    const a = batcher.run(() => {
      starts.push("a");
      return first.promise;
    });
    await expect.poll(() => batcher.inFlight).toBe(1);
    const b = batcher.run(async () => void starts.push("b"));
    const c = batcher.run(async () => void starts.push("c"));
    // Several turns pass: b and c still wait for a's group.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(starts).toEqual(["a"]);
    expect(batcher.waiting).toBe(2);
    first.resolve("done");
    await expect(a).resolves.toBe("done");
    await Promise.all([b, c]);
    expect(starts).toEqual(["a", "b", "c"]);
    expect(batcher.inFlight).toBe(0);
  });

  it("should turn a synchronous throw into a rejection and keep serving", async () => {
    const batcher = new WriteBatcher();
    const failing = batcher.run<number>(() => {
      throw new Error("boom");
    });
    const next = batcher.run(async () => 2);
    await expect(failing).rejects.toThrow("boom");
    await expect(next).resolves.toBe(2);
  });
});
