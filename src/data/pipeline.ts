/**
 * `data.augment` as an ordered pipeline of registered transforms (src/data/transforms.ts, or a
 * plugin's). Forms a spec can use:
 *   - absent: the paper's augmentation (`paper_augment` with its defaults);
 *   - `false`: none;
 *   - `{hflip, brightness, hue}`: shorthand for one `paper_augment` (bit-identical batches to the
 *     augmentation this form always meant);
 *   - a list: `[hflip, {type: random_crop, padding: 4}, {type: normalize, mean: [...], std: [...]}]`.
 * Training batches run every transform in order; evaluation batches run those that apply
 * `always` (normalize), in the same order.
 */
import {lookup, namesInOrder, type ImageTransform, type RandomSource, type TransformDef} from '../registry/registry.js'
import {paramErrors} from '../registry/params.js'
import {resolveAugment, toUnit, type AugmentParams} from './augment.js'
import {DataError} from './errors.js'
import type {DataOptions, TransformSpec} from '../schema/spec.js'
import {paperAugment} from './transforms.js'

export type {TransformSpec}

/** What `data.augment` may hold (src/schema/spec.ts), or null for none. */
export type AugmentConfig = DataOptions['augment'] | null

/** Transforms made from their parameters, in the order they run. */
export interface Pipeline {
  names: string[]
  steps: ImageTransform[]
  /** What each step was made from (its name and parameters): another thread builds the same pipeline from these. */
  specs: TransformSpec[]
}

/** The list a `data.augment` value stands for (the shorthand and the default become `paper_augment`). */
export function transformSpecs(augment: AugmentConfig): TransformSpec[] {
  if (augment === false || augment === null) return []
  if (Array.isArray(augment)) return augment.map((item) => (typeof item === 'string' ? {type: item} : item))
  const paper = resolveAugment(augment)
  return paper ? [{type: 'paper_augment', ...paper}] : []
}

/** The shorthand's parameters as a pipeline (what `batches` does with an `AugmentParams` object). */
export function paperPipeline(p: AugmentParams): Pipeline {
  return {names: ['paper_augment'], steps: [paperAugment(p)], specs: [{type: 'paper_augment', ...p}]}
}

/** Whether a transform's output may leave the [0, 1] pixel range: its `leavesUnitRange`, by default whether it applies always (normalize). */
export function leavesUnitRange(entry: TransformDef<any>): boolean {
  return entry.leavesUnitRange ?? entry.applies === 'always'
}

/** A list item that needs [0, 1] pixels (`needsUnitRange`: the policies) after one that leaves that range, and what to say. */
export interface UnitRangeProblem {
  index: number
  message: string
}

/**
 * Follows a `data.augment` list in order: called with each transform (and its index) that runs,
 * it says what is wrong with one that needs [0, 1] pixels (`needsUnitRange`: the policies) after
 * one whose output leaves that range — rand_augment after normalize would clamp and quantise the
 * normalized image away, where torchvision refuses such input.
 */
function unitRangeOrder(): (entry: TransformDef<any>, index: number) => string | undefined {
  let leaver: {index: number; name: string} | undefined
  return (entry, index) => {
    const name = entry.name
    const problem = leaver && entry.needsUnitRange
      ? `${name} works on pixel values in [0, 1] (it would clamp the rest away) and comes after ${leaver.name} (data.augment[${leaver.index}]), whose output leaves that range; put ${name} before ${leaver.name}`
      : undefined
    if (!leaver && leavesUnitRange(entry)) leaver = {index, name}
    return problem
  }
}

/** The items of a `data.augment` list (its transforms' names, in order; unknown ones skipped) that need [0, 1] pixels after one that leaves that range. */
export function unitRangeProblems(types: Array<string | undefined>): UnitRangeProblem[] {
  const check = unitRangeOrder()
  const problems: UnitRangeProblem[] = []
  types.forEach((type, index) => {
    const entry = type === undefined ? undefined : lookup('transform', type)
    const message = entry && check(entry, index)
    if (message) problems.push({index, message})
  })
  return problems
}

/**
 * Builds the transforms of `specs` for training batches (`train`: all) or evaluation batches
 * (`eval`: those that apply always); false when there are none. Unknown names and bad parameters
 * are DataErrors naming the list item, and so is one that needs [0, 1] pixels after one that leaves
 * that range (`unitRangeProblems`, among the transforms this stage runs).
 */
export function buildPipeline(specs: TransformSpec[], stage: 'train' | 'eval'): Pipeline | false {
  const names: string[] = []
  const steps: ImageTransform[] = []
  const made: TransformSpec[] = []
  const checkOrder = unitRangeOrder()
  specs.forEach((spec, i) => {
    const where = `data.augment[${i}]`
    const entry = lookup('transform', String(spec.type))
    if (!entry) throw new DataError(`${where}: unknown transform "${spec.type}"; registered: ${namesInOrder('transform').join(', ')} (a plugin file can add more).`)
    if (stage === 'eval' && entry.applies !== 'always') return
    const misplaced = checkOrder(entry, i)
    if (misplaced) throw new DataError(`${where} (${spec.type}): ${misplaced}.`)
    const {type, ...params} = structuredClone(spec)
    const errors = paramErrors(entry.schema, params)
    if (errors.length > 0) throw new DataError(`${where} (${type}): ${errors.join('; ')}.`)
    try {
      steps.push(namedStep(entry, entry.create(params)))
    } catch (error) {
      throw new DataError(`${where} (${type}): ${(error as Error).message}.`)
    }
    names.push(type)
    made.push({type, ...params})
  })
  return steps.length > 0 ? {names, steps, specs: made} : false
}

/**
 * A plugin's transform step whose failure on an image names the transform and its file (it said only
 * its own message); the built-in ones are returned as they are.
 */
function namedStep(entry: TransformDef<any>, step: ImageTransform): ImageTransform {
  if (entry.source === undefined || entry.source === 'builtin') return step
  const failed = (error: unknown): Error => new Error(`transform ${entry.name} (plugin ${entry.source}) failed on a training image: ${error instanceof Error ? error.message : String(error)}`, {cause: error})
  const wrapped: ImageTransform = {
    ...step,
    apply(img, off, size, rng) {
      try {
        step.apply(img, off, size, rng)
      } catch (error) {
        throw failed(error)
      }
    },
  }
  if (step.fromBytes) {
    wrapped.fromBytes = (src, sOff, dst, dOff, size, rng) => {
      try {
        step.fromBytes!(src, sOff, dst, dOff, size, rng)
      } catch (error) {
        throw failed(error)
      }
    }
  }
  return wrapped
}

/**
 * The pipeline a `buildPipeline` result's `specs` describe — names registered, parameters checked
 * and filled there — made again from them (a data worker thread does this) without checking them
 * twice.
 */
export function rebuildPipeline(specs: TransformSpec[]): Pipeline {
  const steps = specs.map(({type, ...params}) => {
    const entry = lookup('transform', type)
    if (!entry) throw new DataError(`transform "${type}" is not registered in this thread; registered: ${namesInOrder('transform').join(', ')}.`)
    return namedStep(entry, entry.create(structuredClone(params)))
  })
  return {names: specs.map((s) => s.type), steps, specs}
}

/** Pipelines for both kinds of batches from a `data.augment` value. */
export function pipelinesFromConfig(augment: AugmentConfig): {train: Pipeline | false; eval: Pipeline | false} {
  let specs: TransformSpec[]
  try {
    specs = transformSpecs(augment)
  } catch (error) {
    throw new DataError(`Invalid data.augment: ${(error as Error).message}.`)
  }
  return {train: buildPipeline(specs, 'train'), eval: buildPipeline(specs, 'eval')}
}

/**
 * Writes one transformed S×S×3 image: the stored uint8 pixels at src[sOff] → floats at dst[dOff].
 * A first transform with a fused byte path reads the bytes itself; otherwise the pixels are scaled
 * to [0, 1] first.
 */
export function runPipeline(p: Pipeline, src: Uint8Array, sOff: number, dst: Float32Array, dOff: number, size: number, rng: RandomSource): void {
  const first = p.steps[0]
  let k = 0
  if (first?.fromBytes) {
    first.fromBytes(src, sOff, dst, dOff, size, rng)
    k = 1
  } else {
    toUnit(src, sOff, dst, dOff, size * size * 3)
  }
  for (; k < p.steps.length; k++) p.steps[k].apply(dst, dOff, size, rng)
}
