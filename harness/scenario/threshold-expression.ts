/**
 * The expression language of a threshold, in the style of k6: `<aggregation> <operator> <number> [ms]`, e.g.
 * `p99 < 250`, `p(99.9) <= 400 ms`, `max < 5000`, `rate < 0.01`, `count == 0`. No imports: the scenario loader
 * validates expressions with it.
 */

/** How the values of a metric are reduced to one figure. */
export type ThresholdAggregation = { kind: "avg" | "min" | "med" | "max" | "count" | "rate" } | { kind: "percentile"; p: number };

/** Comparison operators. */
export type ThresholdOperator = "<" | "<=" | ">" | ">=" | "==" | "!=";

/** A parsed threshold expression. */
export interface ThresholdExpression {
  aggregation: ThresholdAggregation;
  operator: ThresholdOperator;
  bound: number;
  /** The expression in canonical form: `p99 < 250`. */
  text: string;
}

const EXPRESSION = /^\s*(avg|min|med|max|count|rate|p\(\s*(\d+(?:\.\d+)?)\s*\)|p(\d+(?:\.\d+)?))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(ms)?\s*$/i;

/** Parses an expression; throws a `TypeError` that states the rule when it is malformed. */
export function parseThresholdExpression(text: string): ThresholdExpression {
  const match = EXPRESSION.exec(text);
  if (!match) {
    throw new TypeError(`threshold ${JSON.stringify(text)} must read "<avg|min|med|max|count|rate|pNN|p(NN)> <op> <number>", e.g. "p99 < 250"`);
  }
  const [, head, pParen, pBare, operator, bound] = match as unknown as [string, string, string | undefined, string | undefined, ThresholdOperator, string];
  const pText = pParen ?? pBare;
  let aggregation: ThresholdAggregation;
  let name: string;
  if (pText !== undefined) {
    const p = Number(pText);
    if (!(p > 0 && p <= 100)) throw new TypeError(`threshold ${JSON.stringify(text)}: a percentile must be in (0, 100] (got ${pText})`);
    aggregation = { kind: "percentile", p };
    name = `p${pText}`;
  } else {
    const kind = head.toLowerCase() as "avg" | "min" | "med" | "max" | "count" | "rate";
    aggregation = { kind };
    name = kind;
  }
  return { aggregation, operator, bound: Number(bound), text: `${name} ${operator} ${Number(bound)}` };
}

/** Whether `value` satisfies `operator bound`. */
export function compareThreshold(value: number, operator: ThresholdOperator, bound: number): boolean {
  switch (operator) {
    case "<":
      return value < bound;
    case "<=":
      return value <= bound;
    case ">":
      return value > bound;
    case ">=":
      return value >= bound;
    case "==":
      return value === bound;
    case "!=":
      return value !== bound;
  }
}
