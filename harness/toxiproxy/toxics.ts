/**
 * The factory of toxic stages: the stage class of each toxic type (one file each, in stages/).
 */
import { BandwidthStage } from "./stages/bandwidth-stage.js";
import { LatencyStage } from "./stages/latency-stage.js";
import { LimitDataStage } from "./stages/limit-data-stage.js";
import { NoopStage } from "./stages/noop-stage.js";
import { ResetPeerStage } from "./stages/reset-peer-stage.js";
import { SlicerStage } from "./stages/slicer-stage.js";
import { SlowCloseStage } from "./stages/slow-close-stage.js";
import { TimeoutStage } from "./stages/timeout-stage.js";
import type { ToxicSpec, ToxicType } from "./toxic-spec.js";
import type { ChunkSink, StageContext, ToxicStage } from "./toxic-stage.js";

const STAGES: Record<ToxicType, new (spec: ToxicSpec, ctx: StageContext, next: ChunkSink) => ToxicStage> = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  slicer: SlicerStage,
  limit_data: LimitDataStage,
  noop: NoopStage,
};

/** Creates the stage that runs `spec` on one link, handing its output to `next`. */
export function createStage(spec: ToxicSpec, ctx: StageContext, next: ChunkSink): ToxicStage {
  return new STAGES[spec.type](spec, ctx, next);
}
