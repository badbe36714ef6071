/**
 * The recipe part of a spec's `train:` — each optimizer's and each schedule's own keys — as TypeBox
 * schemas, and from the same definitions the types the engine takes (`OptimizerSpec`,
 * `ScheduleSpec`). Stage 1 (spec.ts) checks only `type`; stage 2 (config/recipe.ts) checks the rest
 * against the type's schema here and fills its defaults, which are PyTorch's but for Adam's weight
 * decay (the paper's 1e-4). Epochs count from 0, as PyTorch's schedulers count them.
 */
import {Type, type TSchema} from '@sinclair/typebox'
import {constant, enumOf, withDefault, type Resolved} from './typebox.js'

/** `train.optimizer.type`: PyTorch's Adam (coupled L2), AdamW (decoupled decay) and SGD. */
export const OPTIMIZER_TYPES = ['adam', 'adamw', 'sgd'] as const

/** `train.optimizer.weight_decay_exclude`: the parameter roles that can be left out of weight decay. */
export const DECAY_EXCLUDABLE = ['bias', 'norm'] as const

/** `train.schedule.type` (a schedule may also be written as its name alone). */
export const SCHEDULE_TYPES = ['constant', 'step', 'multistep', 'cosine', 'onecycle'] as const

/** `train.early_stopping.metric`: a column of metrics.csv (the val ones need `data.val_split`). */
export const EARLY_STOPPING_METRICS = ['test_accuracy', 'test_loss', 'train_accuracy', 'train_loss', 'val_accuracy', 'val_loss'] as const

const lr = () => withDefault(Type.Number({exclusiveMinimum: 0, description: 'learning rate (the peak of a schedule)'}), 0.001)
const weightDecayExclude = () =>
  withDefault(
    Type.Array(enumOf(DECAY_EXCLUDABLE), {
      uniqueItems: true,
      description: "parameter roles without weight decay: bias (every layer's bias), norm (every normalisation layer's gamma and beta)",
    }),
    [],
  )

/** Adam's and AdamW's keys: they differ only in how weight decay applies. */
function adamSchema<const T extends 'adam' | 'adamw'>(type: T, weightDecay: {default: number; description: string}) {
  return Type.Object(
    {
      type: constant(type),
      lr: lr(),
      weight_decay: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: weightDecay.description}), weightDecay.default),
      weight_decay_exclude: weightDecayExclude(),
      betas: withDefault(Type.Unsafe<[number, number]>({type: 'array', items: {type: 'number', minimum: 0, exclusiveMaximum: 1}, minItems: 2, maxItems: 2}), [0.9, 0.999]),
      eps: withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1}), 1e-8),
    },
    {additionalProperties: false},
  )
}

const sgdSchema = Type.Object(
  {
    type: constant('sgd'),
    lr: lr(),
    weight_decay: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: 'L2 as PyTorch SGD: gradient += weight_decay · weight'}), 0),
    weight_decay_exclude: weightDecayExclude(),
    momentum: withDefault(Type.Number({minimum: 0, maximum: 1}), 0),
    dampening: withDefault(Type.Number({minimum: 0, maximum: 1}), 0),
    nesterov: withDefault(Type.Boolean({description: 'Nesterov momentum (needs momentum > 0 and dampening 0)'}), false),
  },
  {additionalProperties: false},
)

/** Each optimizer's own keys (stage 2 checks `train.optimizer` against its type's schema). */
export const optimizerSchemas = {
  adam: adamSchema('adam', {default: 0.0001, description: 'coupled L2 (PyTorch Adam weight_decay): gradient += weight_decay · weight'}),
  adamw: adamSchema('adamw', {default: 0.01, description: 'decoupled decay (PyTorch AdamW): weight ← weight · (1 − lr · weight_decay) before the Adam step'}),
  sgd: sgdSchema,
} satisfies Record<(typeof OPTIMIZER_TYPES)[number], TSchema>

const gamma = () => withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1, description: 'the factor of each decay'}), 0.1)

/** Each schedule's own keys (stage 2, as the optimizers'). */
export const scheduleSchemas = {
  constant: Type.Object({type: constant('constant')}, {additionalProperties: false}),
  step: Type.Object({type: constant('step'), step_size: Type.Integer({minimum: 1, maximum: 100_000, description: 'epochs between decays (PyTorch StepLR)'}), gamma: gamma()}, {additionalProperties: false}),
  multistep: Type.Object(
    {
      type: constant('multistep'),
      milestones: Type.Array(Type.Integer({minimum: 1, maximum: 100_000}), {minItems: 1, maxItems: 1000, description: 'epochs at which the learning rate is multiplied by gamma (PyTorch MultiStepLR)'}),
      gamma: gamma(),
    },
    {additionalProperties: false},
  ),
  cosine: Type.Object(
    {
      type: constant('cosine'),
      warmup_epochs: withDefault(Type.Integer({minimum: 0, maximum: 100_000, description: 'linear warmup first (PyTorch LinearLR), then cosine annealing over the remaining steps'}), 0),
      warmup_start_factor: withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1, description: 'the warmup starts at lr · warmup_start_factor'}), 0.01),
      min_lr: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: 'the learning rate at the end of training (CosineAnnealingLR eta_min)'}), 0),
    },
    {additionalProperties: false},
  ),
  onecycle: Type.Object(
    {
      type: constant('onecycle'),
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
  ),
} satisfies Record<(typeof SCHEDULE_TYPES)[number], TSchema>

/** `train.optimizer` as stage 2 resolves it: one type's keys, defaults filled. */
export type OptimizerSpec = {[T in keyof typeof optimizerSchemas]: Resolved<(typeof optimizerSchemas)[T]>}[keyof typeof optimizerSchemas]

/** `train.schedule` as stage 2 resolves it (a name alone becomes `{type}`). */
export type ScheduleSpec = {[T in keyof typeof scheduleSchemas]: Resolved<(typeof scheduleSchemas)[T]>}[keyof typeof scheduleSchemas]

/** `train.early_stopping` once resolved (stage 2 fills `metric` from `data.val_split` and `mode` from the metric). */
export interface EarlyStoppingSpec {
  metric: (typeof EARLY_STOPPING_METRICS)[number]
  mode: 'max' | 'min'
  patience: number
  min_delta: number
}
