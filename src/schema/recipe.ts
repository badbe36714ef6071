/**
 * The recipe part of a spec's `train:` — each optimizer's own keys and the warmup every schedule
 * takes — as TypeBox schemas, and from the same definitions the types the engine takes
 * (`OptimizerSpec`, `ScheduleSpec`). Stage 1 (spec.ts) checks only `type`; stage 2 (config/recipe.ts)
 * checks the rest against the type's schema (here for optimizers; a schedule's is its registry
 * entry's, src/schedules/pytorch.ts for the built-ins) and fills its defaults, which are PyTorch's
 * but for Adam's weight decay (the paper's 1e-4). Epochs count from 0, as PyTorch's schedulers count
 * them.
 */
import {Type, type TSchema} from '@sinclair/typebox'
import {constant, enumOf, withDefault, type Resolved} from './typebox.js'

/** `train.optimizer.type`: PyTorch's Adam (coupled L2), AdamW (decoupled decay) and SGD. */
export const OPTIMIZER_TYPES = ['adam', 'adamw', 'sgd'] as const

/** `train.optimizer.weight_decay_exclude`: the parameter roles that can be left out of weight decay. */
export const DECAY_EXCLUDABLE = ['bias', 'norm'] as const

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

/**
 * The warmup every schedule takes (unless it ramps up itself): `warmup_epochs` of linear rise from
 * lr · warmup_start_factor to lr (PyTorch LinearLR, per step), then the schedule (SequentialLR).
 * The registry adds these keys to each schedule's schema (registry.ts `registerSchedule`).
 */
export const warmupSchema = Type.Object({
  warmup_epochs: withDefault(Type.Integer({minimum: 0, maximum: 100_000, description: "epochs of linear warmup first (PyTorch LinearLR, per step); the schedule's own epochs and steps count from its end (SequentialLR)"}), 0),
  warmup_start_factor: withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1, description: 'the warmup starts at lr · warmup_start_factor'}), 0.01),
})

export const WARMUP_KEYS = Object.keys(warmupSchema.properties) as (keyof typeof warmupSchema.properties)[]

export type Warmup = Resolved<typeof warmupSchema>

/** `train.optimizer` as stage 2 resolves it: one type's keys, defaults filled. */
export type OptimizerSpec = {[T in keyof typeof optimizerSchemas]: Resolved<(typeof optimizerSchemas)[T]>}[keyof typeof optimizerSchemas]

/**
 * `train.schedule` as stage 2 resolves it (a name alone becomes `{type}`): a registered schedule's
 * name, its own keys with their defaults filled, and the warmup keys where it takes them.
 */
export type ScheduleSpec = {type: string} & Partial<Warmup> & Record<string, unknown>

/** `train.early_stopping` once resolved (stage 2 fills `metric` from `data.val_split` and `mode` from the metric). */
export interface EarlyStoppingSpec {
  metric: (typeof EARLY_STOPPING_METRICS)[number]
  mode: 'max' | 'min'
  patience: number
  min_delta: number
}
