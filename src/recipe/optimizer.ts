/**
 * A run's optimizer by name: `train.optimizer` and the rule of its registry entry (the built-ins in
 * pytorch-optimizers.ts beside this file; a plugin file adds more), which is what a Trainer is given,
 * and how messages write an optimizer's name.
 */
import type {ChosenOptimizer, OptimizerSpec} from '../engine/optimizer.js'
import {UsageError} from '../errors.js'
import {lookup, namesInOrder} from '../registry/registry.js'

/** `spec` with its registry entry's rule; an optimizer nobody registered is bad input (exit 2). */
export function chooseOptimizer(spec: OptimizerSpec): ChosenOptimizer {
  const rule = lookup('optimizer', spec.type)
  if (!rule) throw new UsageError(`train.optimizer: unknown optimizer ${JSON.stringify(spec.type)}; registered: ${namesInOrder('optimizer').join(', ')} (a plugin file listed under plugins: can add more)`)
  return {spec, rule}
}

/** An optimizer's name as messages write it (`AdamW`), or its registry name where none is registered. */
export function optimizerTitle(type: string): string {
  return lookup('optimizer', type)?.title ?? type
}
