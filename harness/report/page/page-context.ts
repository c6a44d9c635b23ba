/** What every section of the page shares: the time base, the faults, process marks and the instances. */
import { downIntervals, faultIntervals, processMarks, type DownInterval, type FaultInterval, type ProcessMark } from "./intervals.js";
import { instanceIds, runEvents, timeBase, type PageRun } from "./run-model.js";

/** Derived once per page from the run. Times are epoch ms; `domain` is the time axis in seconds since t0. */
export interface PageContext {
  t0: number;
  t1: number;
  domain: [number, number];
  faults: FaultInterval[];
  marks: ProcessMark[];
  downs: DownInterval[];
  instances: string[];
}

/** Builds the context of one run. */
export function pageContext(run: PageRun): PageContext {
  const { t0, t1 } = timeBase(run);
  const events = runEvents(run);
  const marks = processMarks(events);
  return { t0, t1, domain: [0, (t1 - t0) / 1_000], faults: faultIntervals(events, t1), marks, downs: downIntervals(marks, t1), instances: instanceIds(run) };
}
