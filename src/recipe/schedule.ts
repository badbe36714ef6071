/**
 * A run's learning-rate schedule (`train.schedule`): the learning rate of every optimizer step as a
 * pure function of the step's position in training. The schedules themselves are registry entries
 * (the built-ins, closed forms of PyTorch's schedulers, in pytorch-schedules.ts beside this file; a
 * plugin file adds more); this module looks the spec's up, puts the shared warmup in front of it
 * (warmup_epochs of LinearLR from lr · warmup_start_factor, per step, after which the schedule runs
 * over the rest of training as if it started there: SequentialLR) and keeps what a checkpoint needs
 * to continue it. Epochs count from 0 and steps from 0 across the whole run, so a resumed run (or one
 * restarted from best.ckpt) takes the learning rate of its position, whatever its optimizer state.
 * The trainer passes the values to the optimizer kernels with each step (per-step values, as Adam's
 * bias corrections).
 */

import {UsageError} from '../errors.js'
import {lookup, namesInOrder, type ScheduleDef, type RecipeProblem, type StepRates} from '../registry/registry.js'
import {WARMUP_KEYS, warmupSchema, type ScheduleSpec} from '../schema/recipe.js'

export type {ScheduleSpec, RecipeProblem}

/** A schedule the run's length makes meaningless; exit code 2 (bad input). */
export class ScheduleError extends UsageError {}

/** A run's rates: its steps count from 0 over the whole run, the warmup's included. */
export interface Schedule extends StepRates {
  spec: ScheduleSpec
  /** Optimizer steps per epoch and in the whole run. */
  stepsPerEpoch: number
  totalSteps: number
}

function entryOf(spec: ScheduleSpec): ScheduleDef {
  const entry = lookup('schedule', spec.type)
  if (!entry) throw new ScheduleError(`train.schedule: unknown schedule ${JSON.stringify(spec.type)}; registered: ${namesInOrder('schedule').join(', ')} (a plugin file listed under plugins: can add more)`)
  return entry
}

/** The schedule's own keys: `spec` without its type and the warmup keys. */
function paramsOf(spec: ScheduleSpec): Record<string, unknown> {
  const params: Record<string, unknown> = {...spec}
  for (const key of ['type', ...WARMUP_KEYS]) delete params[key]
  return params
}

const warmupEpochsOf = (spec: ScheduleSpec) => spec.warmup_epochs ?? warmupSchema.properties.warmup_epochs.default

/**
 * What makes `spec` meaningless for `epochs` epochs of base learning rate `lr`, found before any data
 * is read: warmup as long as training, and what the schedule finds in its own keys over the epochs
 * after the warmup (a decay that never happens, a floor above the peak).
 */
export function scheduleProblems(spec: ScheduleSpec, lr: number, epochs: number): RecipeProblem[] {
  const warmup = warmupEpochsOf(spec)
  if (warmup >= epochs) return [{key: 'warmup_epochs', message: `is ${warmup}, but training has ${epochs} epochs: the warmup would be as long as training or longer, leaving nothing to schedule`}]
  return entryOf(spec).problems?.(paramsOf(spec), {lr, epochs: epochs - warmup, warmupEpochs: warmup}) ?? []
}

/**
 * The schedule of a run of `epochs` epochs of `stepsPerEpoch` steps each, at base (peak) learning rate
 * `lr`. Throws a ScheduleError for a problem of `scheduleProblems` and for what only the step count
 * shows (a one-cycle phase without a step).
 */
export function createSchedule(spec: ScheduleSpec, lr: number, epochs: number, stepsPerEpoch: number): Schedule {
  const problem = scheduleProblems(spec, lr, epochs)[0]
  if (problem) throw new ScheduleError(`train.schedule.${problem.key} ${problem.message}`)
  const totalSteps = epochs * stepsPerEpoch
  const warmupEpochs = warmupEpochsOf(spec)
  const warmup = warmupEpochs * stepsPerEpoch
  const rates = entryOf(spec).create(paramsOf(spec), {lr, epochs: epochs - warmupEpochs, stepsPerEpoch, totalSteps: totalSteps - warmup})
  const s = spec.warmup_start_factor ?? warmupSchema.properties.warmup_start_factor.default
  const {momentumAt} = rates
  return {
    spec,
    stepsPerEpoch,
    totalSteps,
    lrAt: (step) => (step < warmup ? lr * (s + ((1 - s) * step) / warmup) : rates.lrAt(step - warmup)),
    // A schedule that sets the momentum holds its first value through the warmup.
    ...(momentumAt ? {momentumAt: (step: number) => momentumAt.call(rates, Math.max(0, step - warmup))} : {}),
  }
}

/** What a checkpoint keeps of the schedule, so that a resumed run can be checked to continue exactly where it stopped. */
export interface ScheduleState {
  type: string
  steps_per_epoch: number
  /** The step (0-based over the run) the next epoch starts with, and its learning rate. */
  next_step: number
  next_lr: number
  /** Its momentum, where the schedule sets it (`Schedule.momentumAt`). */
  next_momentum?: number
}

/** The schedule's state before step `nextStep`. */
export function scheduleState(schedule: Schedule, nextStep: number): ScheduleState {
  return {
    type: schedule.spec.type,
    steps_per_epoch: schedule.stepsPerEpoch,
    next_step: nextStep,
    next_lr: schedule.lrAt(nextStep),
    ...(schedule.momentumAt ? {next_momentum: schedule.momentumAt(nextStep)} : {}),
  }
}

/**
 * Why `schedule` would not continue exactly from `saved` (a checkpoint's), or undefined when it
 * would: another schedule, or another number of steps per epoch (the training set or batch size
 * changed), which would move every later step's learning rate.
 */
export function scheduleMismatch(saved: ScheduleState | undefined, schedule: Schedule): string | undefined {
  if (!saved) return schedule.spec.type === 'constant' ? undefined : `the checkpoint has no schedule state (it was written before schedules), and this run's schedule is ${schedule.spec.type}`
  if (saved.type !== schedule.spec.type) return `the checkpoint was written under the ${saved.type} schedule, and this run's is ${schedule.spec.type}`
  if (saved.steps_per_epoch !== schedule.stepsPerEpoch) return `the run took ${saved.steps_per_epoch} steps per epoch and would now take ${schedule.stepsPerEpoch} (the training set, batch_size or steps_per_epoch changed), which moves the learning rate of every later step`
  const lr = schedule.lrAt(saved.next_step)
  if (lr !== saved.next_lr) return `the schedule gives step ${saved.next_step} a learning rate of ${lr}, the checkpoint says ${saved.next_lr}`
  const momentum = schedule.momentumAt?.(saved.next_step)
  if (momentum !== saved.next_momentum) {
    if (saved.next_momentum === undefined) return `the run's schedule did not set the momentum (before onecycle cycled it, or with cycle_momentum: false), and this run's cycles it; set train.schedule.cycle_momentum: false to continue the run as it was`
    if (momentum === undefined) return 'the run cycled the momentum (onecycle cycle_momentum), and this run does not'
    return `the schedule gives step ${saved.next_step} a momentum of ${momentum}, the checkpoint says ${saved.next_momentum}`
  }
  return undefined
}
