/**
 * The built-in learning-rate schedules, registry entries as a plugin's would be (`registerSchedule`),
 * each a closed form of a PyTorch scheduler over the steps it is given (schedule.ts puts the
 * shared warmup in front and counts them):
 *   constant   lr
 *   step       StepLR: lr · gamma^⌊epoch / step_size⌋
 *   multistep  MultiStepLR: lr · gamma^(milestones ≤ epoch)
 *   cosine     per step: CosineAnnealingLR from lr to min_lr over the schedule's steps
 *   onecycle   per step: OneCycleLR (two phases, max_lr = lr), and with cycle_momentum (its default,
 *              as PyTorch's) the momentum from max_momentum down to base_momentum and back, in the
 *              learning rate's phases and annealing: Adam's and AdamW's beta1, SGD's momentum. It
 *              ramps up itself, so it takes no warmup.
 * Epochs count from 0, as PyTorch's schedulers count them.
 */
import {Type} from '@sinclair/typebox'
import {registerSchedule, type RecipeProblem} from '../registry/registry.js'
import {enumOf, withDefault, type Resolved} from '../schema/typebox.js'
import {ScheduleError} from './schedule.js'

/** The epochs a per-epoch schedule counts, in words: those of training, or those after the warmup. */
function epochsInWords({epochs, warmupEpochs}: {epochs: number; warmupEpochs: number}): string {
  return `${warmupEpochs > 0 ? `the schedule has ${epochs} epochs after the ${warmupEpochs}-epoch warmup` : `training has ${epochs} epochs`} (0–${epochs - 1})`
}

const gamma = () => withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1, description: 'the factor of each decay'}), 0.1)

const constantSchema = Type.Object({}, {additionalProperties: false})

registerSchedule<Resolved<typeof constantSchema>>({
  name: 'constant',
  summary: "the optimizer's learning rate throughout (after the warmup, if any)",
  schema: constantSchema,
  create: (_, {lr}) => ({lrAt: () => lr}),
})

const stepSchema = Type.Object({step_size: Type.Integer({minimum: 1, maximum: 100_000, description: 'epochs between decays (PyTorch StepLR)'}), gamma: gamma()}, {additionalProperties: false})

registerSchedule<Resolved<typeof stepSchema>>({
  name: 'step',
  summary: 'per epoch: multiplied by gamma every step_size epochs (StepLR)',
  schema: stepSchema,
  problems: (p, run) => (p.step_size >= run.epochs ? [{key: 'step_size', message: `is ${p.step_size}, but ${epochsInWords(run)}: the learning rate would never decay; use a smaller step_size, or schedule: constant`}] : []),
  create: (p, {lr, stepsPerEpoch}) => ({lrAt: (step) => lr * p.gamma ** Math.floor(Math.floor(step / stepsPerEpoch) / p.step_size)}),
})

const multistepSchema = Type.Object(
  {
    milestones: Type.Array(Type.Integer({minimum: 1, maximum: 100_000}), {minItems: 1, maxItems: 1000, description: 'epochs at which the learning rate is multiplied by gamma (PyTorch MultiStepLR)'}),
    gamma: gamma(),
  },
  {additionalProperties: false},
)

registerSchedule<Resolved<typeof multistepSchema>>({
  name: 'multistep',
  summary: 'per epoch: multiplied by gamma at each milestone epoch (MultiStepLR)',
  schema: multistepSchema,
  problems: (p, run) => {
    const problems: RecipeProblem[] = []
    p.milestones.forEach((m, i) => {
      if (i > 0 && m <= p.milestones[i - 1]) problems.push({key: `milestones[${i}]`, message: `is ${m}, not after the milestone before it (${p.milestones[i - 1]}): list the epochs in increasing order`})
      else if (m >= run.epochs) problems.push({key: `milestones[${i}]`, message: `is ${m}, out of range: ${epochsInWords(run)}, so this decay would never happen`})
    })
    return problems
  },
  create: (p, {lr, stepsPerEpoch}) => ({lrAt: (step) => lr * p.gamma ** p.milestones.filter((m) => m <= Math.floor(step / stepsPerEpoch)).length}),
})

const cosineSchema = Type.Object(
  {min_lr: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: 'the learning rate at the end of training (CosineAnnealingLR eta_min)'}), 0)},
  {additionalProperties: false},
)

registerSchedule<Resolved<typeof cosineSchema>>({
  name: 'cosine',
  summary: 'per step: cosine annealing from lr to min_lr at the end of training (CosineAnnealingLR)',
  schema: cosineSchema,
  problems: (p, {lr}) => (p.min_lr >= lr ? [{key: 'min_lr', message: `is ${p.min_lr}, not below train.optimizer.lr (${lr}): the cosine would not decrease`}] : []),
  create: (p, {lr, totalSteps}) => ({lrAt: (step) => p.min_lr + ((lr - p.min_lr) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2}),
})

const onecycleSchema = Type.Object(
  {
    pct_start: withDefault(Type.Number({exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'share of the steps spent rising to optimizer.lr (PyTorch OneCycleLR)'}), 0.3),
    div_factor: withDefault(Type.Number({minimum: 1, maximum: 1e12, description: "the first step's learning rate is lr / div_factor"}), 25),
    final_div_factor: withDefault(Type.Number({minimum: 1, maximum: 1e12, description: "the last step's is lr / div_factor / final_div_factor"}), 10000),
    anneal_strategy: withDefault(enumOf(['cos', 'linear']), 'cos'),
    cycle_momentum: withDefault(
      Type.Boolean({description: "cycle the momentum inversely to the learning rate, from max_momentum down to base_momentum at the peak and back (Adam's and AdamW's beta1, SGD's momentum; it replaces the optimizer's own value), as OneCycleLR does by default"}),
      true,
    ),
    base_momentum: withDefault(Type.Number({minimum: 0, exclusiveMaximum: 1, description: 'the momentum at the peak learning rate (cycle_momentum)'}), 0.85),
    max_momentum: withDefault(Type.Number({minimum: 0, exclusiveMaximum: 1, description: 'the momentum at the first and the last step (cycle_momentum)'}), 0.95),
  },
  {additionalProperties: false},
)

/** PyTorch OneCycleLR's annealing from `start` to `end` at `pct` ∈ [0, 1]. */
function anneal(strategy: 'cos' | 'linear', start: number, end: number, pct: number): number {
  return strategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start
}

registerSchedule<Resolved<typeof onecycleSchema>>({
  name: 'onecycle',
  summary: 'per step: up to lr and down far below it in two phases, the momentum the other way (OneCycleLR)',
  schema: onecycleSchema,
  warmup: false,
  create: (p, {lr, totalSteps}) => {
    const initial = lr / p.div_factor
    const last = initial / p.final_div_factor
    // PyTorch's phase ends: float(pct_start · total_steps) − 1, then total_steps − 1.
    const peakStep = p.pct_start * totalSteps - 1
    if (peakStep <= 0 || totalSteps - 1 - peakStep <= 0) {
      throw new ScheduleError(`train.schedule: onecycle needs at least one step to rise and one to fall, but pct_start ${p.pct_start} of ${totalSteps} steps puts its peak at step ${peakStep}; train longer or change pct_start`)
    }
    // Both phases as OneCycleLR: each value annealed from its phase's start to its end.
    const cycle = (step: number, [start, peak, end]: number[]): number =>
      step <= peakStep ? anneal(p.anneal_strategy, start, peak, step / peakStep) : anneal(p.anneal_strategy, peak, end, (step - peakStep) / (totalSteps - 1 - peakStep))
    return {
      lrAt: (step) => cycle(step, [initial, lr, last]),
      ...(p.cycle_momentum ? {momentumAt: (step: number) => cycle(step, [p.max_momentum, p.base_momentum, p.max_momentum])} : {}),
    }
  },
})
