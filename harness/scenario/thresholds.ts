import type { CheckResult } from "../report/run-result.js";
import { parseThresholdKey, type MetricThresholds, type ThresholdMetric, type ThresholdMetricKey, type ThresholdSpec } from "./define-scenario.js";
import { compareThreshold, parseThresholdExpression, type ThresholdAggregation, type ThresholdExpression } from "./threshold-expression.js";
import type { ThresholdMetrics } from "./threshold-metrics.js";

/** Short names in results: `threshold: ack p99 < 250 ms`. */
const LABELS: Readonly<Record<ThresholdMetric, string>> = Object.freeze({
  ack_latency: "ack",
  delivery_latency: "delivery",
  connect_latency: "connect",
  lookup_latency: "lookup",
  reconnect_time: "reconnect",
  error_rate: "error rate",
});

/** One threshold of a profile, parsed. */
export interface Threshold {
  key: ThresholdMetricKey;
  metric: ThresholdMetric;
  /** The error code of `error_rate{code:X}`. */
  code?: string;
  /** `ack_latency{partial:false}`: only the acks without `"partial":true`. */
  confirmedOnly?: boolean;
  expression: ThresholdExpression;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  /** The result's name, e.g. `threshold: ack p99 < 250 ms`. */
  name: string;
}

/** A threshold's figure now: `undefined` when the metric has no data yet. */
export interface ThresholdMeasure {
  value: number | undefined;
  /** Values the figure is made of (messages sent, for an error rate). */
  count: number;
}

/** Parses a profile's thresholds (already validated by `resolveProfile`), in declaration order. */
export function parseThresholds(thresholds: MetricThresholds): Threshold[] {
  const out: Threshold[] = [];
  for (const [key, specs] of Object.entries(thresholds) as [ThresholdMetricKey, readonly ThresholdSpec[]][]) {
    // Keys were validated by `resolveProfile`.
    const { metric, code, confirmedOnly } = parseThresholdKey(key)!;
    for (const spec of specs) {
      const expression = parseThresholdExpression(typeof spec === "string" ? spec : spec.threshold);
      const isTime = metric !== "error_rate" && expression.aggregation.kind !== "count";
      const label = confirmedOnly ? `confirmed ${LABELS[metric]}` : code === undefined ? LABELS[metric] : `${LABELS[metric]} ${code}`;
      out.push({
        key,
        metric,
        ...(code !== undefined ? { code } : {}),
        ...(confirmedOnly ? { confirmedOnly } : {}),
        expression,
        abortOnFail: typeof spec !== "string" && spec.abortOnFail === true,
        delayAbortEvalMs: typeof spec !== "string" ? (spec.delayAbortEvalMs ?? 0) : 0,
        name: `threshold: ${label} ${expression.text}${isTime ? " ms" : ""}`,
      });
    }
  }
  return out;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function aggregate(values: readonly number[], aggregation: ThresholdAggregation): number | undefined {
  if (aggregation.kind === "count") return values.length;
  if (values.length === 0) return undefined;
  switch (aggregation.kind) {
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return values.reduce((a, b) => Math.min(a, b), Infinity);
    case "max":
      return values.reduce((a, b) => Math.max(a, b), -Infinity);
    case "med":
      return percentile([...values].sort((a, b) => a - b), 50);
    case "percentile":
      return percentile([...values].sort((a, b) => a - b), aggregation.p);
    case "rate":
      return undefined;
  }
}

/** The figure a threshold compares with its bound. */
export function measureThreshold(threshold: Threshold, metrics: ThresholdMetrics): ThresholdMeasure {
  if (threshold.metric === "error_rate") {
    const { errors, sent } = metrics.errors(threshold.code);
    if (threshold.expression.aggregation.kind === "count") return { value: errors, count: sent };
    return { value: sent === 0 ? undefined : errors / sent, count: sent };
  }
  const values = threshold.confirmedOnly === true ? metrics.confirmedAckLatencies() : metrics.values(threshold.metric);
  return { value: aggregate(values, threshold.expression.aggregation), count: values.length };
}

function figure(threshold: Threshold, value: number): string {
  const rounded = Math.round(value * 1_000) / 1_000;
  if (threshold.metric === "error_rate" || threshold.expression.aggregation.kind === "count") return String(rounded);
  return `${rounded} ms`;
}

/**
 * A threshold's verdict as a named result. A metric without data fails: a threshold that cannot be measured
 * gates nothing. `breach`, when the abort monitor stopped the run on this threshold, is kept as the figure.
 */
export function thresholdResult(threshold: Threshold, measure: ThresholdMeasure, breach?: { atMs: number; value: number }): CheckResult {
  const value = breach?.value ?? measure.value;
  const pass = breach === undefined && value !== undefined && compareThreshold(value, threshold.expression.operator, threshold.expression.bound);
  return {
    name: threshold.name,
    pass,
    expected: threshold.expression.text,
    actual: value === undefined ? "no data" : figure(threshold, value),
    evidence: {
      metric: threshold.key,
      value: value ?? null,
      samples: measure.count,
      abort_on_fail: threshold.abortOnFail,
      ...(breach ? { aborted_run_at_ms: breach.atMs } : {}),
    },
  };
}
