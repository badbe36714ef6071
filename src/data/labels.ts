/**
 * The arrays a split holds its class indices in (`LabelArray`): bytes where every class index fits
 * in one — as all labels were before wider ones, so that the data, cache files and fingerprints of
 * such datasets stay byte for byte what they were — else 16 bits, for up to 65,536 classes
 * (Caltech-256's 257, Places365, ImageNet-1k).
 */
import type {LabelArray} from '../registry/registry.js'

/** The most classes byte labels hold (indices 0–255). */
export const MAX_BYTE_CLASSES = 256
/** The most classes a dataset may have: labels are 16 bits at most. */
export const MAX_CLASSES = 65_536

/** `length` zero labels in the narrowest array that holds every class index below `classes`. */
export function labelArray(classes: number, length: number): LabelArray {
  return classes <= MAX_BYTE_CLASSES ? new Uint8Array(length) : new Uint16Array(length)
}

/** `length` zero labels in an array as wide as `labels` (a part of a split keeps the split's width). */
export function labelArrayLike(labels: LabelArray, length: number): LabelArray {
  return labels instanceof Uint16Array ? new Uint16Array(length) : new Uint8Array(length)
}

/** Whether `labels` is an array a split may hold its labels in (a Node Buffer is a Uint8Array). */
export function isLabelArray(labels: unknown): labels is LabelArray {
  return labels instanceof Uint8Array || labels instanceof Uint16Array
}
