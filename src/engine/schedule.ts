/**
 * Learning-rate schedules (`train.schedule`): the learning rate of every optimizer step as a pure
 * function of the step's position in training, with PyTorch's schedulers' closed forms:
 *   constant   lr
 *   step       StepLR: lr · gamma^⌊epoch / step_size⌋
 *   multistep  MultiStepLR: lr · gamma^(milestones ≤ epoch)
 *   cosine     per step: LinearLR warmup from lr · warmup_start_factor over warmup_epochs, then
 *              CosineAnnealingLR to min_lr over the remaining steps (SequentialLR of the two)
 *   onecycle   per step: OneCycleLR (two phases, max_lr = lr), and with cycle_momentum (its default,
 *              as PyTorch's) the momentum from max_momentum down to base_momentum and back, in the
 *              learning rate's phases and annealing: Adam's and AdamW's beta1, SGD's momentum
 * Epochs count from 0 and steps from 0 across the whole run, so a resumed run (or one restarted from
 * best.ckpt) takes the learning rate of its position, whatever its optimizer state. The trainer passes
 * the values to the optimizer kernels with each step (per-step values, as Adam's bias corrections).
 */

import {UsageError} from '../errors.js'
import type {ScheduleSpec} from '../schema/recipe.js'

export type {ScheduleSpec}

/** A schedule the run's length makes meaningless; exit code 2 (bad input). */
export class ScheduleError extends UsageError {}

export interface Schedule {
  spec: ScheduleSpec
  /** Optimizer steps per epoch and in the whole run. */
  stepsPerEpoch: number
  totalSteps: number
  /** The learning rate of step `step` (0-based over the whole run). */
  lrAt(step: number): number
  /** The momentum of step `step` where the schedule sets it (onecycle's cycle_momentum), replacing the optimizer's beta1 or momentum. */
  momentumAt?(step: number): number
}

/** One problem of a schedule for a run of `epochs` epochs at peak learning rate `lr`: the schedule key and why. */
export interface ScheduleProblem {
  key: string
  message: string
}

/**
 * What makes `spec` meaningless for `epochs` epochs of base learning rate `lr`, found before any data
 * is read: a decay that never happens, warmup as long as training, a floor above the peak.
 */
export function scheduleProblems(spec: ScheduleSpec, lr: number, epochs: number): ScheduleProblem[] {
  const problems: ScheduleProblem[] = []
  switch (spec.type) {
    case 'step':
      if (spec.step_size >= epochs) problems.push({key: 'step_size', message: `is ${spec.step_size}, but training has ${epochs} epochs (0–${epochs - 1}): the learning rate would never decay; use a smaller step_size, or schedule: constant`})
      break
    case 'multistep':
      spec.milestones.forEach((m, i) => {
        if (i > 0 && m <= spec.milestones[i - 1]) problems.push({key: `milestones[${i}]`, message: `is ${m}, not after the milestone before it (${spec.milestones[i - 1]}): list the epochs in increasing order`})
        else if (m >= epochs) problems.push({key: `milestones[${i}]`, message: `is ${m}, out of range: training has epochs 0–${epochs - 1}, so this decay would never happen`})
      })
      break
    case 'cosine':
      if (spec.warmup_epochs >= epochs) problems.push({key: 'warmup_epochs', message: `is ${spec.warmup_epochs}, but training has ${epochs} epochs: the warmup would be as long as training or longer, leaving nothing to anneal`})
      if (spec.min_lr >= lr) problems.push({key: 'min_lr', message: `is ${spec.min_lr}, not below train.optimizer.lr (${lr}): the cosine would not decrease`})
      break
    case 'onecycle':
    case 'constant':
      break
  }
  return problems
}

/** PyTorch OneCycleLR's annealing from `start` to `end` at `pct` ∈ [0, 1]. */
function anneal(strategy: 'cos' | 'linear', start: number, end: number, pct: number): number {
  return strategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start
}

/**
 * The schedule of a run of `epochs` epochs of `stepsPerEpoch` steps each, at base (peak) learning rate
 * `lr`. Throws a ScheduleError for what only the step count shows (a one-cycle phase without a step).
 */
export function createSchedule(spec: ScheduleSpec, lr: number, epochs: number, stepsPerEpoch: number): Schedule {
  const problem = scheduleProblems(spec, lr, epochs)[0]
  if (problem) throw new ScheduleError(`train.schedule.${problem.key} ${problem.message}`)
  const totalSteps = epochs * stepsPerEpoch
  const epochOf = (step: number) => Math.floor(step / stepsPerEpoch)
  let lrAt: (step: number) => number
  let momentumAt: ((step: number) => number) | undefined
  switch (spec.type) {
    case 'constant':
      lrAt = () => lr
      break
    case 'step':
      lrAt = (step) => lr * spec.gamma ** Math.floor(epochOf(step) / spec.step_size)
      break
    case 'multistep':
      lrAt = (step) => lr * spec.gamma ** spec.milestones.filter((m) => m <= epochOf(step)).length
      break
    case 'cosine': {
      const warmup = spec.warmup_epochs * stepsPerEpoch
      const span = totalSteps - warmup
      const s = spec.warmup_start_factor
      lrAt = (step) => (step < warmup ? lr * (s + ((1 - s) * step) / warmup) : spec.min_lr + ((lr - spec.min_lr) * (1 + Math.cos((Math.PI * (step - warmup)) / span))) / 2)
      break
    }
    case 'onecycle': {
      const initial = lr / spec.div_factor
      const last = initial / spec.final_div_factor
      // PyTorch's phase ends: float(pct_start · total_steps) − 1, then total_steps − 1.
      const peakStep = spec.pct_start * totalSteps - 1
      if (peakStep <= 0 || totalSteps - 1 - peakStep <= 0) {
        throw new ScheduleError(`train.schedule: onecycle needs at least one step to rise and one to fall, but pct_start ${spec.pct_start} of ${totalSteps} steps puts its peak at step ${peakStep}; train longer or change pct_start`)
      }
      // Both phases as OneCycleLR: each value annealed from its phase's start to its end.
      const cycle = (step: number, [start, peak, end]: number[]): number =>
        step <= peakStep ? anneal(spec.anneal_strategy, start, peak, step / peakStep) : anneal(spec.anneal_strategy, peak, end, (step - peakStep) / (totalSteps - 1 - peakStep))
      lrAt = (step) => cycle(step, [initial, lr, last])
      if (spec.cycle_momentum) momentumAt = (step) => cycle(step, [spec.max_momentum, spec.base_momentum, spec.max_momentum])
      break
    }
  }
  return {spec, stepsPerEpoch, totalSteps, lrAt, ...(momentumAt ? {momentumAt} : {})}
}

/** What a checkpoint keeps of the schedule, so that a resumed run can be checked to continue exactly where it stopped. */
export interface ScheduleState {
  type: ScheduleSpec['type']
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
