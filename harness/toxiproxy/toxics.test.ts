import { describe, expect, it } from "vitest";
import { createSeededRandom } from "./random.js";
import { sliceOffsets } from "./stages/slicer-stage.js";
import { completeAttributes, validateAttributes, type ToxicSpec } from "./toxic-spec.js";
import type { ChunkSink, StageContext } from "./toxic-stage.js";
import { createStage } from "./toxics.js";

function pieces(offsets: number[]): number[] {
  return offsets.slice(1).map((end, i) => end - offsets[i]!);
}

/** Collects what a stage hands on. */
function collector(): ChunkSink & { chunks: Buffer[]; ended: boolean } {
  const out = { chunks: [] as Buffer[], ended: false, write: (data: Buffer) => void out.chunks.push(data), end: () => void (out.ended = true) };
  return out;
}

const context: StageContext = { random: createSeededRandom(1), hold() {}, release() {}, reset() {} };

function spec(type: ToxicSpec["type"], attributes: Record<string, number>): ToxicSpec {
  return { name: type, type, stream: "downstream", direction: "downstream", toxicity: 1, attributes: completeAttributes(type, attributes) };
}

describe("sliceOffsets", () => {
  it("should cut 24 bytes into 24 pieces of 1 byte with average 1 and variation 0", () => {
    expect(pieces(sliceOffsets(24, 1, 0, createSeededRandom(1)))).toEqual(Array(24).fill(1));
  });

  it("should cut 480 KB with average 1024 and variation 512 into 240..720 pieces covering every byte once", () => {
    const offsets = sliceOffsets(480 * 1024, 1024, 512, createSeededRandom(2));
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)).toBe(480 * 1024);
    const sizes = pieces(offsets);
    expect(sizes.length).toBeGreaterThanOrEqual(240);
    expect(sizes.length).toBeLessThanOrEqual(720);
    expect(sizes.every((size) => size > 0 && size <= 1024 + 512)).toBe(true);
  });

  it("should keep a chunk within average + variation whole", () => {
    expect(sliceOffsets(10, 8, 2, createSeededRandom(3))).toEqual([0, 10]);
    expect(sliceOffsets(0, 8, 2, createSeededRandom(3))).toEqual([0]);
  });
});

describe("validateAttributes", () => {
  it("should accept the node client's attribute sets and refuse hanging or negative values", () => {
    expect(() => validateAttributes("slicer", completeAttributes("slicer", { average_size: 1000, size_variation: 1000, delay: 1000 }))).not.toThrow();
    expect(() => validateAttributes("bandwidth", completeAttributes("bandwidth", {}))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => validateAttributes("latency", completeAttributes("latency", { jitter: -1 }))).toThrow(/latency.jitter must be at least 0/);
    expect(() => validateAttributes("slicer", completeAttributes("slicer", { average_size: 2, size_variation: 3 }))).toThrow(/size_variation/);
  });
});

describe("toxic stages", () => {
  it("should hand limit_data's crossing chunk on cut, then end", () => {
    const out = collector();
    const stage = createStage(spec("limit_data", { bytes: 100 }), context, out);
    stage.write(Buffer.alloc(90, 1), 0);
    stage.write(Buffer.alloc(20, 2), 0);
    stage.write(Buffer.alloc(5, 3), 0);
    expect(out.chunks.map((c) => c.length)).toEqual([90, 10]);
    expect(out.ended).toBe(true);
  });

  it("should keep limit_data's counter across updates", () => {
    const out = collector();
    const stage = createStage(spec("limit_data", { bytes: 100 }), context, out);
    stage.write(Buffer.alloc(60), 0);
    stage.update(spec("limit_data", { bytes: 80 }));
    stage.write(Buffer.alloc(60), 0);
    expect(out.chunks.map((c) => c.length)).toEqual([60, 20]);
    expect(out.ended).toBe(true);
  });

  it("should flush latency's waiting chunks and end in order when removed", () => {
    const out = collector();
    const stage = createStage(spec("latency", { latency: 60_000 }), context, out);
    stage.write(Buffer.from("a"), performance.now());
    stage.write(Buffer.from("b"), performance.now());
    stage.end();
    expect(out.chunks).toEqual([]);
    stage.remove();
    expect(Buffer.concat(out.chunks).toString()).toBe("ab");
    expect(out.ended).toBe(true);
    stage.dispose();
  });

  it("should pass everything through when toxicity is 0", () => {
    const out = collector();
    const stage = createStage({ ...spec("timeout", { timeout: 0 }), toxicity: 0 }, context, out);
    stage.write(Buffer.from("x"), 0);
    expect(out.chunks.map(String)).toEqual(["x"]);
    stage.dispose();
  });

  it("should end the stream when a timeout toxic is removed, even as a pass-through", () => {
    const out = collector();
    const stage = createStage({ ...spec("timeout", { timeout: 0 }), toxicity: 0 }, context, out);
    stage.remove();
    expect(out.ended).toBe(true);
  });
});
