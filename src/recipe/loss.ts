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

/** `spec` made for `numClasses` classes with `labelSmoothing`; a loss nobody registered is bad input (exit 2). */
export function chooseLoss(spec: LossSpec, numClasses: number, labelSmoothing: number): TrainingLoss {
  const {type, ...params} = typeof spec === 'string' ? {type: spec} : spec
  const entry = lookup('loss', type)
  if (!entry) throw new UsageError(`train.loss: unknown loss ${JSON.stringify(type)}; registered: ${namesInOrder('loss').join(', ')} (a plugin file listed under plugins: can add more)`)
  const loss = entry.create(params, {numClasses, labelSmoothing: entry.labelSmoothing ? labelSmoothing : 0})
  return (logits, labels) => {
    const out = loss(logits, labels)
    const {loss: value, correct} = out instanceof tf.Tensor ? {loss: out, correct: undefined} : out
    if (!(value instanceof tf.Tensor) || value.rank !== 0) throw new UsageError(`train.loss ${type}: the loss function must return a scalar tensor (the batch's mean loss), not ${value instanceof tf.Tensor ? `a tensor of shape [${value.shape.join(', ')}]` : typeof value}`)
    return {loss: value, correct: correct ?? tf.keep(correctCount(logits, labels))}
  }
}
