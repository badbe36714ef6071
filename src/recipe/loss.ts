/**
 * A run's training loss by name: `train.loss` and its registry entry (the built-in in
 * pytorch-losses.ts beside this file; a plugin file adds more), made into what a Trainer is given:
 * the batch's mean loss and its number of correct top-1 predictions (counted here where the loss
 * does not count them).
 */
import {tf} from '../engine/tf.js'
import type {TrainingLoss} from '../engine/trainer.js'
import {UsageError} from '../errors.js'
import {correctCount} from '../ops/cross-entropy.js'
import {lookup, namesInOrder} from '../registry/registry.js'
import type {LossSpec} from '../schema/recipe.js'

/**
 * `spec` made for `numClasses` classes with `labelSmoothing`; with `softTargets` (train.mixup) the
 * batches bring target distributions with the smoothing in them, so the loss gets none. A loss
 * nobody registered, or one that takes labels only where targets come, is bad input (exit 2).
 */
export function chooseLoss(spec: LossSpec, numClasses: number, labelSmoothing: number, softTargets = false): TrainingLoss {
  const {type, ...params} = typeof spec === 'string' ? {type: spec} : spec
  const entry = lookup('loss', type)
  if (!entry) throw new UsageError(`train.loss: unknown loss ${JSON.stringify(type)}; registered: ${namesInOrder('loss').join(', ')} (a plugin file listed under plugins: can add more)`)
  if (softTargets && !entry.softTargets) throw new UsageError(softTargetsRefused(type))
  const loss = entry.create(params, {numClasses, labelSmoothing: entry.labelSmoothing && !softTargets ? labelSmoothing : 0})
  return (logits, labels) => {
    const out = loss(logits, labels)
    const {loss: value, correct} = out instanceof tf.Tensor ? {loss: out, correct: undefined} : out
    if (!(value instanceof tf.Tensor) || value.rank !== 0) throw new UsageError(`train.loss ${type}: the loss function must return a scalar tensor (the batch's mean loss), not ${value instanceof tf.Tensor ? `a tensor of shape [${value.shape.join(', ')}]` : typeof value}`)
    return {loss: value, correct: correct ?? tf.keep(correctCount(logits, labels))}
  }
}

/** Why train.mixup is refused with the loss `type` (its registration does not declare `softTargets`). */
export function softTargetsRefused(type: string): string {
  return `the ${type} loss takes integer labels only (its registration does not declare softTargets), and train.mixup trains on mixed targets; use cross_entropy, or remove train.mixup`
}
