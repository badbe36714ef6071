/**
 * Seeded mini-batches: a fresh permutation per epoch (seed + epoch), `drop_last` false, images
 * as [0, 1] Float32 NHWC with optional training augmentation (a transform pipeline), labels as Int32.
 */
import type {DatasetSplit, RandomSource} from '../registry/registry.js'
import {toUnit, type AugmentParams} from './augment.js'
import {DrawReplay} from './draw-tape.js'
import {DataError} from './errors.js'
import {paperPipeline, runPipeline, type Pipeline} from './pipeline.js'
import {permutation, Rng} from './random.js'

export interface Split extends DatasetSplit {
  /**
   * What batches of this split get when no training augmentation is asked for (`augment: false`,
   * as evaluation asks): the transforms of `data.augment` that apply always (normalize). Set by
   * `loadDataset`; absent: the pixels scaled to [0, 1].
   */
  evalTransforms?: Pipeline
}

export interface Batch {
  /** size × S × S × 3 floats in [0, 1], NHWC. */
  x: Float32Array
  /** size labels. */
  y: Int32Array
  /** Examples in this batch (batchSize, or fewer in the last batch). */
  size: number
}

export interface BatchOptions {
  batchSize: number
  imageSize: number
  shuffle: boolean
  seed: number
  epoch: number
  /** Training augmentation: a pipeline, or the paper's parameters (`paper_augment`); false/absent: the split's `evalTransforms`. */
  augment?: false | AugmentParams | Pipeline
  /** Allocate new arrays for every batch instead of reusing one pair (see `batches`). */
  fresh?: boolean
}

/** Stream ids so shuffling and augmentation draw from independent generators. */
const SHUFFLE_STREAM = 1
const AUGMENT_STREAM = 2
const MIX_STREAM = 3

/** The generator the transforms of epoch `epoch` draw from, image after image through the epoch. */
export function augmentRng(seed: number, epoch: number): Rng {
  return new Rng(seed, epoch, AUGMENT_STREAM)
}

/** The generator epoch `epoch`'s mixup and cutmix draw from, batch after batch (batch-mix.ts). */
export function mixRng(seed: number, epoch: number): Rng {
  return new Rng(seed, epoch, MIX_STREAM)
}

/** Number of batches per epoch with `drop_last` false. */
export function numBatches(count: number, batchSize: number): number {
  if (!(batchSize >= 1)) throw new RangeError(`batch size must be ≥ 1, got ${batchSize}`)
  return Math.ceil(count / batchSize)
}

/** The example order of one epoch: identity, or a permutation seeded by (seed, epoch). */
export function epochOrder(count: number, shuffle: boolean, seed: number, epoch: number): Int32Array {
  if (!shuffle) return Int32Array.from({length: count}, (_, i) => i)
  return permutation(count, new Rng(seed, epoch, SHUFFLE_STREAM))
}

/**
 * Iterates over one epoch of `split` in batches.
 *
 * Buffer reuse: unless `fresh` is set, every batch's `x` and `y` are views of the same two
 * arrays, overwritten when the iterator advances. Consume a batch (upload it to a tensor, and
 * let the step finish) before asking for the next one. Note that tfjs's CPU backend does not copy
 * a Float32Array passed to `tf.tensor()`: such a tensor aliases `x`, so dispose it before
 * advancing, or pass `fresh: true` (or `x.slice()`) when a tensor must outlive its step.
 *
 * Determinism: the order depends on (seed, epoch) only; the augmentation draws on (seed, epoch)
 * and the position in the epoch, so the same arguments give bit-identical batches. Iterating the
 * returned iterable twice gives the same batches.
 */
export function batches(split: Split, opts: BatchOptions): Iterable<Batch> {
  const {batchSize, imageSize, shuffle, seed, epoch} = opts
  checkBatching(split, batchSize, imageSize)
  const px = imageSize * imageSize * 3
  const pipe = batchPipeline(split, opts.augment)
  return {
    * [Symbol.iterator](): Iterator<Batch> {
      const order = epochOrder(split.count, shuffle, seed, epoch)
      const rng = pipe ? augmentRng(seed, epoch) : undefined
      let xBuf = new Float32Array(Math.min(batchSize, split.count) * px)
      let yBuf = new Int32Array(Math.min(batchSize, split.count))
      for (let start = 0; start < split.count; start += batchSize) {
        const size = Math.min(batchSize, split.count - start)
        if (opts.fresh && start > 0) {
          xBuf = new Float32Array(size * px)
          yBuf = new Int32Array(size)
        }
        fillBatch(split, order.subarray(start, start + size), imageSize, pipe, rng, xBuf, yBuf)
        const full = size * px === xBuf.length
        yield {x: full ? xBuf : xBuf.subarray(0, size * px), y: size === yBuf.length ? yBuf : yBuf.subarray(0, size), size}
      }
    },
  }
}

/** Throws a DataError unless `split` can be batched at `imageSize` in batches of `batchSize`. */
export function checkBatching(split: DatasetSplit, batchSize: number, imageSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError(`The batch size must be a positive integer; got ${batchSize}.`)
  const px = imageSize * imageSize * 3
  if (split.images.length !== split.count * px || split.labels.length < split.count) {
    throw new DataError(
      `The data split does not hold ${split.count} images of ${imageSize}×${imageSize}×3 (it has ${split.images.length} bytes and ${split.labels.length} labels): ` +
        `the batch image size must be the size the dataset was loaded at.`,
    )
  }
}

/** The transforms batches of `split` run: the training augmentation asked for, else the split's `evalTransforms` (none: undefined). */
export function batchPipeline(split: Split, augment: BatchOptions['augment']): Pipeline | undefined {
  return !augment ? split.evalTransforms : 'steps' in augment ? augment : paperPipeline(augment)
}

/**
 * Writes the examples `ids` of `split` into one batch: labels to y, images to x through `pipe`
 * drawing from `rng` (a replayed tape moves to each image's draws and checks they were all used),
 * or scaled to [0, 1] without one.
 */
export function fillBatch(split: DatasetSplit, ids: ArrayLike<number>, imageSize: number, pipe: Pipeline | undefined, rng: RandomSource | undefined, x: Float32Array, y: Int32Array): void {
  const px = imageSize * imageSize * 3
  const {images, labels} = split
  const replay = rng instanceof DrawReplay ? rng : undefined
  for (let k = 0; k < ids.length; k++) {
    const idx = ids[k]
    y[k] = labels[idx]
    if (pipe && rng) {
      replay?.image(k)
      runPipeline(pipe, images, idx * px, x, k * px, imageSize, rng)
      replay?.finish()
    } else {
      toUnit(images, idx * px, x, k * px, px)
    }
  }
}
