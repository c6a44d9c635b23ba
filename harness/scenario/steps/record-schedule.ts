import type { StepHandler } from "../run-context.js";

/** `Step.recordSchedule(schedule)`: puts a seeded schedule on the run's timeline (engine `schedule` event). */
export const recordScheduleStep: StepHandler<"record_schedule"> = async (step, run) => {
  run.recorder.record({ t: run.clock.now(), source: "engine", type: "schedule", schedule: { ...step.schedule } });
};
