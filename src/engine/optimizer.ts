/**
 * A run's optimizer (`train.optimizer`) over the model's trainable weights, with the state it keeps
 * per weight (Adam's m and v; SGD's momentum buffer). What an optimizer is comes as an
 * `OptimizerRule`: its op (ops/: the update of one weight, fused where the backend has the kernel, in
 * place where it can, else the composite), the checkpoint group of each state tensor, and each step's
 * attributes from the spec's keys. The rules of PyTorch's Adam (coupled L2), AdamW (decoupled decay)
 * and SGD (momentum, dampening, Nesterov) are here (`PYTORCH_RULES`); the registry entries that name
 * them, and a plugin's own, carry a rule each (recipe/pytorch-optimizers.ts).
 * `weight_decay_exclude` splits the weights into two groups, as PyTorch's param groups do: those
 * that decay and those that do not. A weight's role comes from the layer that owns it: every weight
 * of a normalisation layer (its class name ends in `Norm` or `Normalization`: BatchNorm, LayerNorm,
 * tfjs's own) is `norm`, a weight named `bias` elsewhere is `bias`, anything else (kernels,
 * embeddings, latents, CLS tokens) is `weight` and always decays.
 */
import {tf, type LayersModel} from './tf.js'
import type {StepUpdate} from './step-graph.js'
import {ADAM, type AdamAttrs, type AdamConfig} from '../ops/adam.js'
import {ADAMW} from '../ops/adamw.js'
import {SGD, type SgdAttrs} from '../ops/sgd.js'
import {zeroVariable} from '../ops/store.js'
import {updateStep, type UpdateOp} from '../ops/weight-update.js'
import type {DECAY_EXCLUDABLE, OptimizerSpec} from '../schema/recipe.js'

export type {OptimizerSpec}

/** What a weight is to weight decay: `norm` and `bias` can be left out (`weight_decay_exclude`). */
export type WeightRole = 'weight' | (typeof DECAY_EXCLUDABLE)[number]

/** What one step gives the optimizer: its learning rate, its 1-based count, and the momentum where a schedule sets it. */
export interface OptimizerStep {
  lr: number
  step: number
  /** Replaces SGD's momentum, or Adam's and AdamW's beta1 (as PyTorch's OneCycleLR writes it into the param groups). */
  momentum?: number
}

/** How one optimizer updates the weights. */
export interface OptimizerRule<P = Record<string, unknown>> {
  /** How messages write its name (`AdamW`). */
  title: string
  /** The update of one weight (ops/weight-update.ts `UpdateOp`): its kernel, composite and the names of its state tensors. */
  op: UpdateOp<any>
  /** The checkpoint group of each of the op's state tensors, in their order (`adam_m`, `adam_v`). */
  stateGroups: string[]
  /**
   * The op's attributes of one step from the spec's keys; the attribute `weightDecay` is set per
   * parameter group (0 for the weights `weight_decay_exclude` leaves out).
   */
  attrs(params: P, step: OptimizerStep): object
}

/** `train.optimizer` and the rule of its type: what a Trainer is given. */
export interface ChosenOptimizer {
  spec: OptimizerSpec
  rule: OptimizerRule<any>
}

type AdamKeys = {weight_decay: number; betas: [number, number]; eps: number}

const adamAttrs = (p: AdamKeys, {lr, step, momentum}: OptimizerStep): AdamAttrs => ({lr, beta1: momentum ?? p.betas[0], beta2: p.betas[1], eps: p.eps, weightDecay: p.weight_decay, step})

/** The rules of PyTorch's optimizers, which the built-in registry entries carry. */
export const PYTORCH_RULES = {
  adam: {title: 'Adam', op: ADAM, stateGroups: ['adam_m', 'adam_v'], attrs: adamAttrs} satisfies OptimizerRule<AdamKeys>,
  adamw: {title: 'AdamW', op: ADAMW, stateGroups: ['adam_m', 'adam_v'], attrs: adamAttrs} satisfies OptimizerRule<AdamKeys>,
  sgd: {
    title: 'SGD',
    op: SGD,
    stateGroups: ['momentum'],
    attrs: (p, {lr, step, momentum}): SgdAttrs => ({lr, momentum: momentum ?? p.momentum, dampening: p.dampening, nesterov: p.nesterov, weightDecay: p.weight_decay, step}),
  } satisfies OptimizerRule<{weight_decay: number; momentum: number; dampening: number; nesterov: boolean}>,
}

/** A layer class that normalises: its every weight (gamma, beta) has the role `norm`. */
const NORM_CLASS = /Norm(alization)?$/

/** The role of each of `model`'s trainable weights, in `trainableWeights` order. */
export function weightRoles(model: LayersModel): WeightRole[] {
  const roles = new Map<object, WeightRole>()
  for (const layer of model.layers) {
    const norm = NORM_CLASS.test(layer.getClassName())
    for (const w of layer.trainableWeights) roles.set(w, norm ? 'norm' : w.originalName.split('/').pop() === 'bias' ? 'bias' : 'weight')
  }
  return model.trainableWeights.map((w) => roles.get(w) ?? 'weight')
}

/** The paper's optimizer: Adam on every weight, from a plain configuration. */
export function paperAdam(c: AdamConfig): ChosenOptimizer {
  return {spec: {type: 'adam', lr: c.lr, weight_decay: c.weightDecay, weight_decay_exclude: [], betas: [c.beta1, c.beta2], eps: c.eps}, rule: PYTORCH_RULES.adam}
}

export class Optimizer {
  readonly spec: OptimizerSpec
  readonly rule: OptimizerRule<any>
  /** Per trainable weight (model order), its state tensors in the op's order. */
  readonly state: tf.Variable[][]
  /** The weights of each decay group (indices in model order) and its weight decay. */
  readonly groups: {indices: number[]; weightDecay: number}[]

  constructor({spec, rule}: ChosenOptimizer, weights: tf.Variable[], roles: WeightRole[]) {
    this.spec = spec
    this.rule = rule
    const exclude = (spec.weight_decay_exclude ?? []) as WeightRole[]
    const excluded = (i: number) => exclude.includes(roles[i])
    const all = weights.map((_, i) => i)
    const weightDecay = spec.weight_decay ?? 0
    this.groups = [
      {indices: all.filter((i) => !excluded(i)), weightDecay},
      {indices: all.filter(excluded), weightDecay: 0},
    ].filter((g) => g.indices.length > 0)
    this.state = weights.map((w) => rule.op.state.map(() => zeroVariable(w.shape)))
  }

  /** The optimizer's registry name. */
  get type(): string {
    return this.spec.type
  }

  /** The update of optimizer step `step` (1-based) at learning rate `lr` (StepContext.update), and `momentum` where a schedule sets it. */
  update(lr: number, step: number, momentum?: number): StepUpdate {
    return {op: this.rule.op.name, attrs: this.rule.attrs(this.spec, {lr, step, ...(momentum === undefined ? {} : {momentum})})}
  }

  /** One step over every weight, group by group (each group with its own weight decay). */
  apply(weights: tf.Variable[], grads: tf.Tensor[], update: StepUpdate): void {
    for (const {indices, weightDecay} of this.groups) {
      const pick = <T>(list: T[]) => (indices.length === list.length ? list : indices.map((i) => list[i]))
      updateStep(this.rule.op, pick(weights), pick(grads), pick(this.state), {...update.attrs, weightDecay})
    }
  }

  /** The state as checkpoints hold it: per group name, one tensor per trainable weight. */
  stateGroups(): {group: string; tensors: tf.Variable[]}[] {
    return this.rule.stateGroups.map((group, k) => ({group, tensors: this.state.map((s) => s[k])}))
  }

  /** Set the state from `values[group][weight]`; every group of this optimizer must be there. */
  setState(values: Record<string, Float32Array[] | undefined>): void {
    const lists = this.rule.stateGroups.map((group) => {
      const list = values[group]
      if (!list || list.length !== this.state.length) throw new Error(`optimizer state ${group} has ${list?.length ?? 0} tensors but the model has ${this.state.length} trainable weights`)
      return list
    })
    lists.forEach((list, k) => this.state.forEach((s, i) => tf.tidy(() => s[k].assign(tf.tensor(list[i], s[k].shape)))))
  }

  dispose(): void {
    for (const s of this.state) tf.dispose(s)
  }
}
