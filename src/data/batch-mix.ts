/**
 * Mixup and CutMix of a training batch (`train.mixup`), as timm's `Mixup` (timm/data/mixup.py)
 * does them. Example i of a batch of B is mixed with example B − 1 − i (the batch reversed):
 *   mixup   x_i ← λ·x_i + (1 − λ)·x_j, in float32 as PyTorch computes it;
 *   cutmix  a box of x_j pasted into x_i, λ then the share of x_i left (`correct_lam`);
 * with one draw for the whole batch, one per pair (i, B − 1 − i) or one per example (`mode`). Each
 * example's target is λ·(its label) + (1 − λ)·(the other's), both label-smoothed (1 − ε + ε/K on
 * the label, ε/K elsewhere), as timm's `mixup_target`. After `off_epoch` the images stay as they
 * are and the targets are the smoothed labels (timm keeps its soft targets too).
 *
 * The draws come from the run's seed and epoch (batches.ts `mixRng`), batch after batch in the
 * training thread, so the same seed gives the same batches whatever the data workers. The random
 * stream is ours, not numpy's: the same distributions, not timm's numbers. Unlike timm, an odd
 * batch (an epoch's last, as `drop_last` is false) is mixed too: its middle example pairs with
 * itself and is left as it is.
 */
import {mixesAnything, type MixupSpec} from '../schema/spec.js'
import {mixRng} from './batches.js'
import {beta, type Rng} from './random.js'

/** A cutmix box: rows [top, bottom) and columns [left, right) of the image. */
export interface Box {
  top: number
  bottom: number
  left: number
  right: number
}

/** One draw: λ, the share of the example's own image and label; a box where it is cutmix. λ 1: left as it is. */
export interface MixDraw {
  lam: number
  box?: Box
}

const UNMIXED: MixDraw = {lam: 1}

/** An integer in [lo, hi) (numpy's `randint`); lo where the range is empty. */
function randint(rng: Rng, lo: number, hi: number): number {
  return hi > lo ? lo + rng.int(hi - lo) : lo
}

/** timm's `rand_bbox`: a box of sides ⌊S·√(1 − λ)⌋ centred on a uniform point, clipped at the edges. */
function boxFromLam(rng: Rng, lam: number, size: number): Box {
  const cut = Math.trunc(size * Math.sqrt(1 - lam))
  const half = Math.floor(cut / 2)
  const cy = randint(rng, 0, size)
  const cx = randint(rng, 0, size)
  const clip = (v: number) => Math.min(Math.max(v, 0), size)
  return {top: clip(cy - half), bottom: clip(cy + half), left: clip(cx - half), right: clip(cx + half)}
}

/** timm's `rand_bbox_minmax`: sides uniform in [⌊S·min⌋, ⌊S·max⌋), placed uniformly inside the image. */
function boxFromMinMax(rng: Rng, [min, max]: number[], size: number): Box {
  const height = randint(rng, Math.trunc(size * min), Math.trunc(size * max))
  const width = randint(rng, Math.trunc(size * min), Math.trunc(size * max))
  const top = randint(rng, 0, size - height)
  const left = randint(rng, 0, size - width)
  return {top, bottom: top + height, left, right: left + width}
}

/** The share of the image outside `box`. */
function lamOfBox(box: Box, size: number): number {
  return 1 - ((box.bottom - box.top) * (box.right - box.left)) / (size * size)
}

/** One draw of `spec` for images of side `size` (timm's `_params_per_batch`, then the box). */
export function drawMix(spec: MixupSpec, rng: Rng, size: number): MixDraw {
  if (!(rng.float() < spec.prob)) return UNMIXED
  const mixupOn = spec.mixup_alpha > 0
  const cutmixOn = spec.cutmix_alpha > 0 || spec.cutmix_minmax !== undefined
  const cutmix = mixupOn && cutmixOn ? rng.float() < spec.switch_prob : cutmixOn
  if (!cutmix) return {lam: beta(rng, spec.mixup_alpha, spec.mixup_alpha)}
  // With cutmix_minmax the box is drawn alone and λ is its area's (timm forces correct_lam there).
  if (spec.cutmix_minmax) {
    const box = boxFromMinMax(rng, spec.cutmix_minmax, size)
    return {lam: lamOfBox(box, size), box}
  }
  const lam = beta(rng, spec.cutmix_alpha, spec.cutmix_alpha)
  const box = boxFromLam(rng, lam, size)
  return {lam: spec.correct_lam ? lamOfBox(box, size) : lam, box}
}

/**
 * The draw of every example of a batch of `count` (`mode`): batch — one for all; pair — one per
 * pair (i, count − 1 − i), both examples taking it; elem — one per example. An odd batch's middle
 * example is left unmixed. Per pair and per example, λ is held in float32, as timm's arrays hold it.
 */
export function drawBatch(spec: MixupSpec, rng: Rng, count: number, size: number): MixDraw[] {
  const draws = new Array<MixDraw>(count)
  if (spec.mode === 'batch') return draws.fill(drawMix(spec, rng, size))
  const f32 = (d: MixDraw): MixDraw => ({...d, lam: Math.fround(d.lam)})
  for (let i = 0; i < count; i++) {
    const j = count - 1 - i
    if (i === j) draws[i] = UNMIXED
    else if (spec.mode === 'elem') draws[i] = f32(drawMix(spec, rng, size))
    else if (i < j) draws[i] = draws[j] = f32(drawMix(spec, rng, size))
  }
  return draws
}

/**
 * Mixes the `count` images of `x` (count × size × size × 3, NHWC) in place by `draws` and returns
 * the targets (count × numClasses): λ·smoothed one-hot of `labels[i]` + (1 − λ)·that of
 * `labels[count − 1 − i]`. `scratch` holds a copy of the images as they were (grown as needed).
 */
export function applyMix(x: Float32Array, labels: Int32Array, count: number, size: number, draws: MixDraw[], numClasses: number, smoothing: number, scratch?: Float32Array): Float32Array {
  const px = size * size * 3
  const original = scratch && scratch.length >= count * px ? scratch : new Float32Array(count * px)
  original.set(x.subarray(0, count * px))
  const off = Math.fround(smoothing / numClasses)
  const on = Math.fround(1 - smoothing + smoothing / numClasses)
  const targets = new Float32Array(count * numClasses)
  for (let i = 0; i < count; i++) {
    const j = count - 1 - i
    const {lam, box} = draws[i]
    // PyTorch multiplies a float32 tensor by a float32 scalar: λ and 1 − λ as float32, each product rounded, then the sum.
    const own = Math.fround(lam)
    const other = Math.fround(1 - lam)
    const row = i * numClasses
    for (let c = 0; c < numClasses; c++) {
      const a = c === labels[i] ? on : off
      const b = c === labels[j] ? on : off
      targets[row + c] = Math.fround(a * own) + Math.fround(b * other)
    }
    if (lam === 1) continue
    if (box) {
      const rowBytes = (box.right - box.left) * 3
      for (let r = box.top; r < box.bottom; r++) {
        const at = (r * size + box.left) * 3
        x.set(original.subarray(j * px + at, j * px + at + rowBytes), i * px + at)
      }
    } else {
      for (let p = 0; p < px; p++) x[i * px + p] = Math.fround(original[i * px + p] * own) + Math.fround(original[j * px + p] * other)
    }
  }
  return targets
}

/** What a run's mixer needs besides the spec. */
export interface MixerOptions {
  /** The model's outputs: the width of a target. */
  numClasses: number
  /** `train.label_smoothing`, applied in the targets. */
  smoothing: number
  /** Images mixed (false after `off_epoch`: the targets are the smoothed labels). */
  enabled: boolean
}

/** The mixing of one epoch's training batches, in order: each `mix` takes the next draws from `rng`. */
export class BatchMixer {
  private scratch?: Float32Array

  constructor(
    readonly spec: MixupSpec,
    private readonly rng: Rng,
    readonly options: MixerOptions,
  ) {}

  /** Mixes `batch.x` in place and returns its targets (batch.size × numClasses, float32). */
  mix(batch: {x: Float32Array; y: Int32Array; size: number}, imageSize: number): Float32Array {
    const {numClasses, smoothing, enabled} = this.options
    const draws = enabled ? drawBatch(this.spec, this.rng, batch.size, imageSize) : new Array<MixDraw>(batch.size).fill(UNMIXED)
    this.scratch ??= new Float32Array(batch.x.length)
    return applyMix(batch.x, batch.y, batch.size, imageSize, draws, numClasses, smoothing, this.scratch)
  }
}

/**
 * The mixer of epoch `epoch` (1-based) of a run with `train.mixup` = `spec` and seed `seed`, or
 * undefined where it mixes nothing (none, or both alphas 0: plain labels, as timm): its images are
 * mixed up to `off_epoch` (0 or none: throughout, as timm's `if mixup_off_epoch and epoch >= …`),
 * its targets soft throughout.
 */
export function epochMixer(spec: MixupSpec | undefined, run: {seed: number; epoch: number; numClasses: number; smoothing: number}): BatchMixer | undefined {
  if (!spec || !mixesAnything(spec)) return undefined
  const enabled = !spec.off_epoch || run.epoch <= spec.off_epoch
  return new BatchMixer(spec, mixRng(run.seed, run.epoch), {numClasses: run.numClasses, smoothing: run.smoothing, enabled})
}
