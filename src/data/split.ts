/**
 * Holding out part of a split, class by class: of a class's n examples, round(n · fraction) (at
 * most n − 1, so that every class keeps one) are drawn by a seeded shuffle; both parts keep the
 * original order. `data.val_split` holds out the validation split from the training images this way
 * (`holdOutValidation`, seeded by the run's `seed`, so that every backend, a resumed run and
 * `mixture eval --split val` get the same images); `image_folder`'s `test_split` holds out its test
 * split from class folders by the same rule (`heldOut`).
 */
import type {Split} from './batches.js'
import {DataError} from './errors.js'
import {labelArrayLike} from './labels.js'
import {deriveSeed, permutation, Rng} from './random.js'

/** Mixed with the run's seed for the validation hold-out: a stream of its own, apart from shuffling and augmentation. */
const VAL_SPLIT_STREAM = 0x76616c

/** The largest `data.val_split` (the schema's bound). */
export const MAX_VAL_SPLIT = 0.5

/** How many of a class's `n` examples are held out: round(n · fraction), at most n − 1. */
export function heldOutCount(n: number, fraction: number): number {
  return Math.max(0, Math.min(Math.round(n * fraction), n - 1))
}

/** Which of a class's `n` examples are held out (1) and kept (0): `heldOutCount` of them, drawn by `rng`. */
export function heldOut(n: number, fraction: number, rng: Rng): Uint8Array {
  const held = heldOutCount(n, fraction)
  const order = permutation(n, rng)
  const mask = new Uint8Array(n)
  for (let k = 0; k < held; k++) mask[order[k]] = 1
  return mask
}

/**
 * A stratified hold-out of the first `count` of `labels`: each class's examples (in order) get their
 * own draw from `rngOf(label)`. Returns the indices kept and those held out, each ascending.
 */
export function stratifiedHoldOut(labels: ArrayLike<number>, count: number, fraction: number, rngOf: (label: number) => Rng): {kept: Int32Array; held: Int32Array} {
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < count; i++) {
    const members = byClass.get(labels[i])
    if (members) members.push(i)
    else byClass.set(labels[i], [i])
  }
  const isHeld = new Uint8Array(count)
  for (const [label, members] of byClass) {
    const mask = heldOut(members.length, fraction, rngOf(label))
    members.forEach((index, k) => {
      isHeld[index] = mask[k]
    })
  }
  const held = isHeld.reduce((s, v) => s + v, 0)
  const kept = new Int32Array(count - held)
  const out = new Int32Array(held)
  for (let i = 0, a = 0, b = 0; i < count; i++) {
    if (isHeld[i]) out[b++] = i
    else kept[a++] = i
  }
  return {kept, held: out}
}

/** The examples of `split` at `indices`, in that order (a copy, its labels as wide as the split's), with the split's evaluation transforms. */
export function subset(split: Split, indices: Int32Array, px: number): Split {
  const images = new Uint8Array(indices.length * px)
  const labels = labelArrayLike(split.labels, indices.length)
  indices.forEach((index, k) => {
    images.set(split.images.subarray(index * px, (index + 1) * px), k * px)
    labels[k] = split.labels[index]
  })
  return {images, labels, count: indices.length, ...(split.evalTransforms ? {evalTransforms: split.evalTransforms} : {})}
}

/** Where a validation split came from: the indices into the loaded training split of each part. */
export interface ValidationHoldOut {
  fraction: number
  seed: number
  /** Training images kept for training, ascending. */
  train: Int32Array
  /** Training images held out for validation, ascending. */
  val: Int32Array
}

/** Which training images `data.val_split` holds out for a run of `seed` (see the module comment). */
export function validationIndices(train: Split, fraction: number, seed: number): ValidationHoldOut {
  const base = deriveSeed(seed, VAL_SPLIT_STREAM)
  const {kept, held} = stratifiedHoldOut(train.labels, train.count, fraction, (label) => new Rng(base, label))
  return {fraction, seed, train: kept, val: held}
}

/**
 * The dataset (load.ts `Dataset`) with `fraction` of its training images held out as `val` (none
 * when the fraction is 0 or absent: the dataset as it is). The training split becomes the rest.
 */
export function holdOutValidation<D extends {train: Split; imageSize: number}>(dataset: D, fraction: number | undefined, seed: number): D & {val?: Split; valHoldOut?: ValidationHoldOut} {
  if (!fraction) return dataset
  if (!(fraction > 0 && fraction <= MAX_VAL_SPLIT)) throw new DataError(`data.val_split must be between 0 and ${MAX_VAL_SPLIT}; got ${fraction}.`)
  const holdOut = validationIndices(dataset.train, fraction, seed)
  if (holdOut.val.length === 0) {
    throw new DataError(`data.val_split ${fraction} holds out no image of the ${dataset.train.count} training images (every class is too small: round(n × ${fraction}) is 0); raise val_split or use more training images.`)
  }
  const px = dataset.imageSize * dataset.imageSize * 3
  return {...dataset, train: subset(dataset.train, holdOut.train, px), val: subset(dataset.train, holdOut.val, px), valHoldOut: holdOut}
}
