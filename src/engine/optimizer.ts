/**
 * A run's optimizer (`train.optimizer`): PyTorch's Adam (coupled L2), AdamW (decoupled decay) or SGD
 * (momentum, dampening, Nesterov) over the model's trainable weights, with the state each keeps per
 * weight (Adam's m and v; SGD's momentum buffer). `weight_decay_exclude` splits the weights into two
 * groups, as PyTorch's param groups do: those that decay and those that do not. A weight's role comes
 * from the layer that owns it: every weight of a normalisation layer (its class name ends in `Norm` or
 * `Normalization`: BatchNorm, LayerNorm, tfjs's own) is `norm`, a weight named `bias` elsewhere is
 * `bias`, anything else (kernels, embeddings, latents, CLS tokens) is `weight` and always decays.
 * The update of each step goes through the op of ops/adam.ts, ops/adamw.ts or ops/sgd.ts, fused where
 * the backend has the kernel, in place where it can.
 */
import {tf, type LayersModel} from './tf.js'
import type {StepUpdate} from './step-graph.js'
import {ADAM, type AdamConfig} from '../ops/adam.js'
import {ADAMW} from '../ops/adamw.js'
import {SGD} from '../ops/sgd.js'
import {zeroVariable} from '../ops/store.js'
import {updateStep, type UpdateOp} from '../ops/weight-update.js'
import type {DECAY_EXCLUDABLE, OptimizerSpec} from '../schema/recipe.js'

export type {OptimizerSpec}
export type OptimizerType = OptimizerSpec['type']

/** What a weight is to weight decay: `norm` and `bias` can be left out (`weight_decay_exclude`). */
export type WeightRole = 'weight' | (typeof DECAY_EXCLUDABLE)[number]

/** The checkpoint groups of each optimizer's state, in the op's state order (run/checkpoint.ts). */
export const STATE_GROUPS = {adam: ['adam_m', 'adam_v'], adamw: ['adam_m', 'adam_v'], sgd: ['momentum']} as const

export type StateGroup = (typeof STATE_GROUPS)[OptimizerType][number]

const OPS: Record<OptimizerType, UpdateOp<never>> = {adam: ADAM, adamw: ADAMW, sgd: SGD} as unknown as Record<OptimizerType, UpdateOp<never>>

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

/** The spec of a plain Adam on every weight (what the trainer was given before optimizers were chosen by spec). */
export function adamSpec(c: AdamConfig): OptimizerSpec {
  return {type: 'adam', lr: c.lr, weight_decay: c.weightDecay, weight_decay_exclude: [], betas: [c.beta1, c.beta2], eps: c.eps}
}

export class Optimizer {
  readonly type: OptimizerType
  /** Per trainable weight (model order), its state tensors in the op's order. */
  readonly state: tf.Variable[][]
  /** The weights of each decay group (indices in model order) and its weight decay. */
  readonly groups: {indices: number[]; weightDecay: number}[]

  constructor(
    readonly spec: OptimizerSpec,
    weights: tf.Variable[],
    roles: WeightRole[],
  ) {
    this.type = spec.type
    const excluded = (i: number) => (spec.weight_decay_exclude as WeightRole[]).includes(roles[i])
    const all = weights.map((_, i) => i)
    this.groups = [
      {indices: all.filter((i) => !excluded(i)), weightDecay: spec.weight_decay},
      {indices: all.filter(excluded), weightDecay: 0},
    ].filter((g) => g.indices.length > 0)
    this.state = weights.map((w) => STATE_GROUPS[spec.type].map(() => zeroVariable(w.shape)))
  }

  /**
   * The update of optimizer step `step` (1-based) at learning rate `lr` (StepContext.update);
   * `momentum`, where a schedule cycles it, replaces SGD's momentum or Adam's and AdamW's beta1 (as
   * PyTorch's OneCycleLR writes it into the param groups).
   */
  update(lr: number, step: number, momentum?: number): StepUpdate {
    const s = this.spec
    if (s.type === 'sgd') return {op: 'sgd', attrs: {lr, momentum: momentum ?? s.momentum ?? 0, dampening: s.dampening ?? 0, nesterov: s.nesterov ?? false, weightDecay: s.weight_decay, step}}
    const [beta1, beta2] = s.betas ?? [0.9, 0.999]
    return {op: s.type, attrs: {lr, beta1: momentum ?? beta1, beta2, eps: s.eps ?? 1e-8, weightDecay: s.weight_decay, step}}
  }

  /** One step over every weight, group by group (each group with its own weight decay). */
  apply(weights: tf.Variable[], grads: tf.Tensor[], update: StepUpdate): void {
    const op = OPS[update.op]
    for (const {indices, weightDecay} of this.groups) {
      const pick = <T>(list: T[]) => (indices.length === list.length ? list : indices.map((i) => list[i]))
      updateStep(op, pick(weights), pick(grads), pick(this.state), {...update.attrs, weightDecay} as never)
    }
  }

  /** The state as checkpoints hold it: per group name, one tensor per trainable weight. */
  stateGroups(): {group: StateGroup; tensors: tf.Variable[]}[] {
    return STATE_GROUPS[this.type].map((group, k) => ({group, tensors: this.state.map((s) => s[k])}))
  }

  /** Set the state from `values[group][weight]`; every group of this optimizer must be there. */
  setState(values: Partial<Record<StateGroup, Float32Array[]>>): void {
    const lists = STATE_GROUPS[this.type].map((group) => {
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
