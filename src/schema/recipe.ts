/**
 * The recipe part of a spec's `train:` that every optimizer and every schedule shares — the
 * optimizers' learning rate and decay exclusion, the schedules' warmup — as TypeBox schemas, and the
 * types the engine takes (`OptimizerSpec`, `ScheduleSpec`). Each optimizer's and schedule's own keys
 * are its registry entry's schema (src/recipe/pytorch-optimizers.ts and pytorch-schedules.ts for the
 * built-ins, whose defaults are PyTorch's but for Adam's weight decay, the paper's 1e-4); the registry
 * adds the shared keys to it. Stage 1 (spec.ts) checks only `type`; stage 2 (config/recipe.ts) the
 * rest. Epochs count from 0, as PyTorch's schedulers count them.
 */
import {Type} from '@sinclair/typebox'
import {enumOf, withDefault, type Resolved} from './typebox.js'

/** `train.optimizer.weight_decay_exclude`: the parameter roles that can be left out of weight decay. */
export const DECAY_EXCLUDABLE = ['bias', 'norm'] as const

/** `train.early_stopping.metric`: a column of metrics.csv (the val ones need `data.val_split`). */
export const EARLY_STOPPING_METRICS = ['test_accuracy', 'test_loss', 'train_accuracy', 'train_loss', 'val_accuracy', 'val_loss'] as const

/**
 * The keys every optimizer takes: its learning rate, and — where it has a `weight_decay` — the roles
 * left out of the decay. The registry adds them to each optimizer's schema (registry.ts
 * `registerOptimizer`).
 */
export const optimizerSharedSchema = Type.Object({
  lr: withDefault(Type.Number({exclusiveMinimum: 0, description: 'learning rate (the peak of a schedule)'}), 0.001),
  weight_decay_exclude: withDefault(
    Type.Array(enumOf(DECAY_EXCLUDABLE), {
      uniqueItems: true,
      description: "parameter roles without weight decay: bias (every layer's bias), norm (every normalisation layer's gamma and beta)",
    }),
    [],
  ),
})

export const OPTIMIZER_SHARED_KEYS = Object.keys(optimizerSharedSchema.properties) as (keyof typeof optimizerSharedSchema.properties)[]

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

/**
 * `train.optimizer` as stage 2 resolves it: a registered optimizer's name, its learning rate, its own
 * keys with their defaults filled (`weight_decay` where it has one, then also `weight_decay_exclude`).
 */
export type OptimizerSpec = {type: string; lr: number; weight_decay?: number; weight_decay_exclude?: (typeof DECAY_EXCLUDABLE)[number][]} & Record<string, unknown>

/**
 * `train.schedule` as stage 2 resolves it (a name alone becomes `{type}`): a registered schedule's
 * name, its own keys with their defaults filled, and the warmup keys where it takes them.
 */
export type ScheduleSpec = {type: string} & Partial<Warmup> & Record<string, unknown>

/** `train.loss` as a resolved spec holds it: a registered loss by name (the built-in `cross_entropy`), or `{type, ...its keys}`. */
export type LossSpec = string | ({type: string} & Record<string, unknown>)

/** `train.early_stopping` once resolved (stage 2 fills `metric` from `data.val_split` and `mode` from the metric). */
export interface EarlyStoppingSpec {
  metric: (typeof EARLY_STOPPING_METRICS)[number]
  mode: 'max' | 'min'
  patience: number
  min_delta: number
}
