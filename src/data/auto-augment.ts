/**
 * torchvision's automatic augmentation policies as `data.augment` transforms: `trivial_augment_wide`
 * (TrivialAugmentWide), `rand_augment` (RandAugment) and `auto_augment` (AutoAugment's ImageNet,
 * CIFAR-10 and SVHN policies), pixel for pixel as torchvision 0.14 computes them on a uint8 tensor
 * with nearest interpolation (torchvision's default) or bilinear (`interpolation: bilinear`), and the
 * op table they share.
 *
 * The ops are uint8 operations in torchvision (Posterize and Equalize take nothing else), so the
 * transform rounds its input to uint8 — round(x·255), clamped to 0–255 — applies the ops to the
 * bytes, and writes k/255. The rounding is exact for an image that comes from the stored uint8
 * pixels through crops, flips, nearest-pixel rotations and these policies, as torchvision's uint8
 * input does; after a bilinear resize or rotation it is the rounding to uint8 torchvision makes there
 * (up to float error on a tie); after one that makes other [0, 1] values (color_jitter) it quantises
 * them, as torchvision's PIL images are; random_erasing's normal noise, outside [0, 1], is clamped. A
 * transform whose output leaves the pixel range (normalize, `leavesUnitRange`) may not come before
 * one: the policies say `needsUnitRange`, and such a list is refused. An image that no op changes
 * (RandAugment's num_ops 0, Identity drawn, AutoAugment's two ops not applied) is left exactly as it
 * was, as torchvision returns it. First in the list, it reads the stored bytes directly (`fromBytes`).
 *
 * Each op is torchvision's tensor implementation in its arithmetic: ShearX/Y, TranslateX/Y and Rotate
 * are F.affine / F.rotate (the inverse affine matrix in doubles, its float32 grid, grid_sample and the
 * fill; geometric-transforms.ts's warp). With nearest the fill's bytes replace what comes from
 * outside. With bilinear it is _apply_grid_transform on the uint8 tensor: cast to float32, the mask
 * channel appended (the policies always hand torchvision a fill: a spec's fill, 0 by default, is
 * [0.0] * 3 there, never None), grid_sample bilinear (align_corners False, zeros outside) in torch
 * 1.13's vectorised CPU kernel's float32 arithmetic (its fused multiply-adds included), the float
 * fill blended as img·mask + (1 − mask)·fill, rounded half to even to uint8: bit for bit with the
 * AVX2 and AVX-512 kernels on every fixture (and on 1,500 random warps of sizes 3–64, checked once);
 * torch's generic kernel (ATEN_CPU_CAPABILITY=default) itself differs from those by 1 in a rare
 * pixel. TranslateX/Y move by whole pixels (int(magnitude)), so bilinear and nearest give the same
 * image for them. `interpolation` has no default: a spec without it resolves (and hashes) as before
 * and warps with nearest.
 * torchvision's own fill=None (its classes' default: no mask channel, what comes from outside only
 * weighs 0) is not what a spec makes; it differs from fill 0 at the border with bilinear, and the
 * PyTorch twin (bench/torch/train.py) hands the spec's fill. Brightness, Color, Contrast and Sharpness
 * are `_blend` — ratio·a + (1 − ratio)·b in float32, clamped, truncated to uint8 — with black, the
 * grey image (rgb_to_grayscale's float32 weights, truncated), the mean grey level, and the 3×3
 * smoothed image (centre weight 5, rounded, the border left as it is); Posterize masks the low bits;
 * Solarize inverts from the threshold up; AutoContrast stretches each channel with torch's
 * reciprocal-then-multiply scale; Equalize is torchvision's histogram LUT (`_scale_channel`).
 *
 * The magnitudes are `_augmentation_space`'s float32 tables, torch.linspace's values included (the
 * AVX2 kernel of torch 1.13 CPU builds such as Debian's: see `linspace`). The draws are those of each
 * policy's forward, `rng.int(n)` for torch.randint(n) and `rng.float()` for torch.rand, and they do
 * not depend on the pixels, so `draw` makes them without the image (batches in worker threads).
 */
import {registerTransform, type ImageTransform, type RandomSource} from '../registry/registry.js'
import {affineInto, fillSchema, inverseAffineMatrix, type Interpolation} from './geometric-transforms.js'
import {roundHalfEven} from './images.js'
import {GREY, perChannel, UINT8_NOTE, uint8Steps} from './transform-helpers.js'

const f32 = Math.fround

/** The ops of torchvision's policies (autoaugment.py's `_apply_op`). */
export type OpName =
  | 'Identity'
  | 'ShearX'
  | 'ShearY'
  | 'TranslateX'
  | 'TranslateY'
  | 'Rotate'
  | 'Brightness'
  | 'Color'
  | 'Contrast'
  | 'Sharpness'
  | 'Posterize'
  | 'Solarize'
  | 'AutoContrast'
  | 'Equalize'
  | 'Invert'

/** One op of a policy's `_augmentation_space`: its magnitude table (none: the magnitude is 0) and whether a draw may negate it. */
export interface OpSpace {
  name: OpName
  magnitudes: Float64Array | null
  signed: boolean
}

/** One op as a policy applies it: its name and signed magnitude. */
export interface AppliedOp {
  name: OpName
  magnitude: number
}

/**
 * torch.linspace(start, end, steps) in float32, as torch 1.13's CPU kernel computes it where it
 * dispatches to AVX2 (Debian's build): while 16 values remain, two vectors of 8, each starting from
 * the scalar value of its first index and adding k·step (float32, one rounding each); the rest by
 * the scalar formula — start + step·i below the halfway index, end − step·(steps − 1 − i) from there —
 * each one rounding (the compiler fuses the multiply-add). step·i is exact in a double, and so is
 * the sum for the ranges the policies use (from or to 0, or from 255), so one Math.fround rounds it.
 */
export function linspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps)
  const a = f32(start)
  const b = f32(end)
  if (steps === 1) {
    out[0] = a
    return out
  }
  const step = f32(f32(b - a) / (steps - 1))
  const halfway = Math.floor(steps / 2)
  const scalar = (i: number) => (i < halfway ? f32(a + step * i) : f32(b - step * (steps - 1 - i)))
  let i = 0
  for (; i <= steps - 16; i += 16) {
    for (const first of [i, i + 8]) {
      const base = scalar(first)
      for (let k = 0; k < 8; k++) out[first + k] = f32(base + f32(k * step))
    }
  }
  for (; i < steps; i++) out[i] = scalar(i)
  return out
}

/** Posterize's bits: 8 − round(arange(bins) / ((bins − 1) / levels)) in float32, halves to even. */
function posterizeBits(numBins: number, levels: number): Float64Array {
  const divisor = f32((numBins - 1) / levels)
  return Float64Array.from({length: numBins}, (_, i) => 8 - roundHalfEven(f32(i / divisor)))
}

/** The magnitude tables of one policy: TrivialAugmentWide's ('wide'), or RandAugment's and AutoAugment's at this image size. */
function augmentationSpace(kind: 'wide' | 'rand' | 'auto', numBins: number, size: number): OpSpace[] {
  const wide = kind === 'wide'
  const table = (end: number) => linspace(0, end, numBins)
  const none = (name: OpName): OpSpace => ({name, magnitudes: null, signed: false})
  const signed = (name: OpName, end: number): OpSpace => ({name, magnitudes: table(end), signed: true})
  const translate = wide ? 32 : (150 / 331) * size
  const space: OpSpace[] = [
    none('Identity'),
    signed('ShearX', wide ? 0.99 : 0.3),
    signed('ShearY', wide ? 0.99 : 0.3),
    signed('TranslateX', translate),
    signed('TranslateY', translate),
    signed('Rotate', wide ? 135 : 30),
    signed('Brightness', wide ? 0.99 : 0.9),
    signed('Color', wide ? 0.99 : 0.9),
    signed('Contrast', wide ? 0.99 : 0.9),
    signed('Sharpness', wide ? 0.99 : 0.9),
    {name: 'Posterize', magnitudes: posterizeBits(numBins, wide ? 6 : 4), signed: false},
    {name: 'Solarize', magnitudes: linspace(255, 0, numBins), signed: false},
    none('AutoContrast'),
    none('Equalize'),
  ]
  // AutoAugment's table has no Identity and adds Invert.
  return kind === 'auto' ? [...space.slice(1), none('Invert')] : space
}

/** `_augmentation_space` of TrivialAugmentWide (size unused), RandAugment or AutoAugment (10 bins): what the tests compare with torchvision's. */
export function policySpace(policy: 'trivial_augment_wide' | 'rand_augment' | 'auto_augment', numBins: number, size: number): OpSpace[] {
  return augmentationSpace(policy === 'trivial_augment_wide' ? 'wide' : policy === 'rand_augment' ? 'rand' : 'auto', numBins, size)
}

/** `_blend` on uint8: ratio·a + (1 − ratio)·b in float32 (torch takes both scalars as float32), clamped to 0–255, truncated. */
function blender(ratio: number): (a: number, b: number) => number {
  const r = f32(ratio)
  const q = f32(1 - ratio)
  return (a, b) => {
    const v = f32(f32(r * a) + f32(q * b))
    return v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v)
  }
}

const GREY32 = GREY.map(f32)

/** rgb_to_grayscale of one uint8 pixel: the float32 weighted sum, truncated. */
function greyLevel(r: number, g: number, b: number): number {
  return Math.trunc(f32(f32(f32(GREY32[0] * r) + f32(GREY32[1] * g)) + f32(GREY32[2] * b)))
}

/** F.equalize of one channel (torchvision's `_scale_channel`): the histogram's LUT, or the channel as it is when the step is 0. */
function equalizeChannel(px: Uint8Array, n: number, c: number): void {
  const hist = new Int32Array(256)
  for (let i = c; i < n; i += 3) hist[px[i]]++
  let top = 255
  while (hist[top] === 0) top--
  // Every pixel but those of the highest value present, over 255.
  const step = Math.floor((n / 3 - hist[top]) / 255)
  if (step === 0) return
  const lut = new Uint8Array(256)
  let cumulative = 0
  for (let v = 0; v < 255; v++) {
    cumulative += hist[v]
    lut[v + 1] = Math.min(255, Math.floor((cumulative + Math.floor(step / 2)) / step))
  }
  for (let i = c; i < n; i += 3) px[i] = lut[px[i]]
}

/** F.autocontrast of one channel: (p − min)·scale with scale = (1 / (max − min))·255 in float32, clamped, truncated; a flat channel stays. */
function autocontrastChannel(px: Uint8Array, n: number, c: number): void {
  let lo = 255
  let hi = 0
  for (let i = c; i < n; i += 3) {
    lo = Math.min(lo, px[i])
    hi = Math.max(hi, px[i])
  }
  if (lo === hi) return
  const scale = f32(f32(1 / (hi - lo)) * 255)
  for (let i = c; i < n; i += 3) {
    const v = f32((px[i] - lo) * scale)
    px[i] = v >= 255 ? 255 : Math.trunc(v)
  }
}

/** torchvision's fill for a uint8 image: the float32 values (torch.tensor of the policy's list of floats). */
function fillFloats(fill: number | number[], what: string): [number, number, number] {
  return perChannel(fill, what).map(f32) as [number, number, number]
}

/**
 * Applies one op to the uint8 S×S×3 HWC image `px` in place, as torchvision's `_apply_op` does to a
 * uint8 tensor with `interpolation` (nearest unless given) and `fill` (pixel values, one per
 * channel: torchvision's policies hand F.affine / F.rotate a list of floats); `scratch` holds at
 * least S·S·3 bytes. Nearest writes the fill rounded half to even, as the warp's output is; bilinear
 * blends the float fill by the mask before rounding (geometric-transforms.ts's `affineInto`).
 */
export function applyOp(px: Uint8Array, size: number, op: AppliedOp, fill: [number, number, number], scratch: Uint8Array, interpolation: Interpolation = 'nearest'): void {
  const n = size * size * 3
  const m = op.magnitude
  const warp = (matrix: number[]) => {
    scratch.set(px.subarray(0, n))
    const warpFill = fill.map((v) => (interpolation === 'nearest' ? roundHalfEven(f32(v)) : f32(v))) as [number, number, number]
    affineInto(px, 0, scratch, size, matrix, interpolation, warpFill)
  }
  const degrees = 180 / Math.PI
  switch (op.name) {
    case 'Identity':
      return
    case 'ShearX':
    case 'ShearY': {
      // F.affine about the top-left corner (center [0, 0], in pixels from the image centre), shear atan(m) in degrees.
      const shear = Math.atan(m) * degrees
      return warp(inverseAffineMatrix([-size * 0.5, -size * 0.5], 0, [0, 0], 1, op.name === 'ShearX' ? [shear, 0] : [0, shear]))
    }
    case 'TranslateX':
    case 'TranslateY': {
      const t = Math.trunc(m)
      return warp(inverseAffineMatrix([0, 0], 0, op.name === 'TranslateX' ? [t, 0] : [0, t], 1, [0, 0]))
    }
    case 'Rotate':
      // F.rotate: the affine matrix of the opposite angle about the centre.
      return warp(inverseAffineMatrix([0, 0], -m, [0, 0], 1, [0, 0]))
    case 'Brightness': {
      const blend = blender(1 + m)
      for (let i = 0; i < n; i++) px[i] = blend(px[i], 0)
      return
    }
    case 'Color': {
      const blend = blender(1 + m)
      for (let i = 0; i < n; i += 3) {
        const grey = greyLevel(px[i], px[i + 1], px[i + 2])
        for (let c = 0; c < 3; c++) px[i + c] = blend(px[i + c], grey)
      }
      return
    }
    case 'Contrast': {
      // The mean grey level in float32: the sum of the truncated levels is exact (integers below 2^24 up to 256×256), then one division.
      let sum = 0
      for (let i = 0; i < n; i += 3) sum += greyLevel(px[i], px[i + 1], px[i + 2])
      const mean = f32(sum / (size * size))
      const blend = blender(1 + m)
      for (let i = 0; i < n; i++) px[i] = blend(px[i], mean)
      return
    }
    case 'Sharpness': {
      if (size <= 2) return
      // The smoothed image: (the 8 neighbours + 5 × the centre) / 13, rounded (never a tie: 13 is odd); the border as it is.
      scratch.set(px.subarray(0, n))
      const row = size * 3
      for (let y = 1; y < size - 1; y++) {
        for (let x = 1; x < size - 1; x++) {
          for (let c = 0; c < 3; c++) {
            const i = y * row + x * 3 + c
            const around = px[i - row - 3] + px[i - row] + px[i - row + 3] + px[i - 3] + px[i + 3] + px[i + row - 3] + px[i + row] + px[i + row + 3]
            scratch[i] = Math.round((around + 5 * px[i]) / 13)
          }
        }
      }
      const blend = blender(1 + m)
      for (let i = 0; i < n; i++) px[i] = blend(px[i], scratch[i])
      return
    }
    case 'Posterize': {
      const mask = -(2 ** (8 - Math.trunc(m)))
      for (let i = 0; i < n; i++) px[i] &= mask
      return
    }
    case 'Solarize': {
      const threshold = f32(m)
      for (let i = 0; i < n; i++) if (px[i] >= threshold) px[i] = 255 - px[i]
      return
    }
    case 'AutoContrast':
      for (let c = 0; c < 3; c++) autocontrastChannel(px, n, c)
      return
    case 'Equalize':
      for (let c = 0; c < 3; c++) equalizeChannel(px, n, c)
      return
    case 'Invert':
      for (let i = 0; i < n; i++) px[i] = 255 - px[i]
      return
  }
}

/** A policy made from its parameters: the ops it applies to one image of side `size`, drawn from `rng` (its forward's draws, in order). */
type ChooseOps = (size: number, rng: RandomSource) => AppliedOp[]

/** A policy transform: the draws first (`choose`), then the ops on the image's bytes. `choose` is exposed for the tests. */
export interface PolicyTransform extends ImageTransform {
  choose: ChooseOps
}

/** Whether an op is one (Identity is none): an image that no op changes is left as it is, not taken through uint8. */
const changes = (op: AppliedOp) => op.name !== 'Identity'

function policyTransform(choose: ChooseOps, fill: [number, number, number], interpolation: Interpolation): PolicyTransform {
  let bytes = new Uint8Array(0)
  let scratch = new Uint8Array(0)
  const buffers = (n: number) => {
    if (bytes.length < n) {
      bytes = new Uint8Array(n)
      scratch = new Uint8Array(n)
    }
    return bytes
  }
  const run = (px: Uint8Array, size: number, ops: AppliedOp[]) => {
    for (const op of ops) applyOp(px, size, op, fill, scratch, interpolation)
  }
  // No op (num_ops 0, Identity, AutoAugment's two ops not drawn): the image as it was, as torchvision returns it.
  return {choose, ...uint8Steps(choose, (ops) => ops.some(changes), run, buffers)}
}

/** The magnitude tables of one policy per image size (RandAugment's and AutoAugment's translations scale with it). */
function spaceCache(make: (size: number) => OpSpace[]): (size: number) => OpSpace[] {
  const made = new Map<number, OpSpace[]>()
  return (size) => {
    let space = made.get(size)
    if (!space) made.set(size, (space = make(size)))
    return space
  }
}

const FILL_DESCRIPTION = 'what the shears, translations and rotations bring in from outside the image'

/**
 * The policies' `interpolation`, without a default: a spec without it resolves (and hashes) as
 * before, and reads nearest, torchvision's default.
 */
const interpolationSchema = {
  enum: ['nearest', 'bilinear'],
  description:
    "how the shears, translations and rotations read the image (torchvision's InterpolationMode): nearest (left out: nearest, torchvision's default) or bilinear (grid_sample on the uint8 image cast to float, the fill blended by the share brought in from outside, rounded back to uint8)",
}

interface TrivialAugmentWideParams {
  num_magnitude_bins: number
  interpolation?: Interpolation
  fill: number | number[]
}

/** TrivialAugmentWide.forward's draws: the op, its magnitude bin (ops with a table), its sign (signed ops; 1 negates). */
export function trivialAugmentWide({num_magnitude_bins: numBins, interpolation = 'nearest', fill}: TrivialAugmentWideParams): PolicyTransform {
  const space = augmentationSpace('wide', numBins, 0)
  const ops: AppliedOp[] = [{name: 'Identity', magnitude: 0}]
  const choose: ChooseOps = (_size, rng) => {
    const {name, magnitudes, signed} = space[rng.int(space.length)]
    let magnitude = magnitudes ? magnitudes[rng.int(magnitudes.length)] : 0
    if (signed && rng.int(2) === 1) magnitude = -magnitude
    ops[0] = {name, magnitude}
    return ops
  }
  return policyTransform(choose, fillFloats(fill, 'trivial_augment_wide.fill'), interpolation)
}

const binsSchema = {type: 'integer', minimum: 2, default: 31, description: 'how many magnitudes each op\'s range is cut into (at least 2: the Posterize table divides by bins − 1)'}

/**
 * Registers a policy: a training transform on uint8 pixels whose schema is `properties`,
 * `interpolation` and `fill` (the note on uint8 pixels as its description).
 */
function registerPolicy<P>(def: {name: string; summary: string; paper: string; properties: Record<string, unknown>; create(params: P): PolicyTransform}): void {
  registerTransform<P>({
    name: def.name,
    summary: def.summary,
    paper: def.paper,
    applies: 'train',
    // The ops take uint8 pixels: after normalize (whose output is none) the list is refused.
    needsUnitRange: true,
    schema: {type: 'object', additionalProperties: false, description: UINT8_NOTE, properties: {...def.properties, interpolation: interpolationSchema, fill: fillSchema(FILL_DESCRIPTION)}},
    create: def.create,
  })
}

registerPolicy<TrivialAugmentWideParams>({
  name: 'trivial_augment_wide',
  summary: 'TrivialAugmentWide: one op per image (of 14: shear, translate, rotate, colour, posterize, solarize, equalize, ...) at a random magnitude, on uint8 pixels.',
  paper: 'arXiv:2103.10158',
  properties: {
    num_magnitude_bins: binsSchema,
  },
  create: (p) => trivialAugmentWide(p),
})

interface RandAugmentParams {
  num_ops: number
  magnitude: number
  num_magnitude_bins: number
  interpolation?: Interpolation
  fill: number | number[]
}

/** RandAugment.forward's draws: per op, which one, then its sign (signed ops; 1 negates); every op at bin `magnitude`. */
export function randAugment({num_ops: count, magnitude: bin, num_magnitude_bins: numBins, interpolation = 'nearest', fill}: RandAugmentParams): PolicyTransform {
  if (bin >= numBins) throw new RangeError(`rand_augment.magnitude ${bin} is not one of the ${numBins} magnitude bins (0 to ${numBins - 1}); lower it or raise num_magnitude_bins`)
  const spaceAt = spaceCache((size) => augmentationSpace('rand', numBins, size))
  const ops: AppliedOp[] = []
  const choose: ChooseOps = (size, rng) => {
    const space = spaceAt(size)
    ops.length = 0
    for (let k = 0; k < count; k++) {
      const {name, magnitudes, signed} = space[rng.int(space.length)]
      let magnitude = magnitudes ? magnitudes[bin] : 0
      if (signed && rng.int(2) === 1) magnitude = -magnitude
      ops.push({name, magnitude})
    }
    return ops
  }
  return policyTransform(choose, fillFloats(fill, 'rand_augment.fill'), interpolation)
}

registerPolicy<RandAugmentParams>({
  name: 'rand_augment',
  summary: 'RandAugment: num_ops random ops per image (of 14), all at one magnitude, each sign random, on uint8 pixels.',
  paper: 'arXiv:1909.13719',
  properties: {
    num_ops: {type: 'integer', minimum: 0, default: 2, description: 'ops applied one after the other to each image'},
    magnitude: {type: 'integer', minimum: 0, default: 9, description: 'the magnitude bin of every op, below num_magnitude_bins'},
    num_magnitude_bins: binsSchema,
  },
  create: (p) => randAugment(p),
})

type SubPolicy = [[OpName, number, number | null], [OpName, number, number | null]]

/** AutoAugment's learned sub-policies (autoaugment.py `_get_policies`): two (op, probability, magnitude bin) each. */
const AUTO_POLICIES: Record<'imagenet' | 'cifar10' | 'svhn', SubPolicy[]> = {
  imagenet: [
    [['Posterize', 0.4, 8], ['Rotate', 0.6, 9]],
    [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
    [['Posterize', 0.6, 7], ['Posterize', 0.6, 6]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
    [['Equalize', 0.4, null], ['Rotate', 0.8, 8]],
    [['Solarize', 0.6, 3], ['Equalize', 0.6, null]],
    [['Posterize', 0.8, 5], ['Equalize', 1.0, null]],
    [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
    [['Equalize', 0.6, null], ['Posterize', 0.4, 6]],
    [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
    [['Rotate', 0.4, 9], ['Equalize', 0.6, null]],
    [['Equalize', 0.0, null], ['Equalize', 0.8, null]],
    [['Invert', 0.6, null], ['Equalize', 1.0, null]],
    [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
    [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
    [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
    [['Sharpness', 0.4, 7], ['Invert', 0.6, null]],
    [['ShearX', 0.6, 5], ['Equalize', 1.0, null]],
    [['Color', 0.4, 0], ['Equalize', 0.6, null]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
    [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Invert', 0.6, null], ['Equalize', 1.0, null]],
    [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
  ],
  cifar10: [
    [['Invert', 0.1, null], ['Contrast', 0.2, 6]],
    [['Rotate', 0.7, 2], ['TranslateX', 0.3, 9]],
    [['Sharpness', 0.8, 1], ['Sharpness', 0.9, 3]],
    [['ShearY', 0.5, 8], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.5, null], ['Equalize', 0.9, null]],
    [['ShearY', 0.2, 7], ['Posterize', 0.3, 7]],
    [['Color', 0.4, 3], ['Brightness', 0.6, 7]],
    [['Sharpness', 0.3, 9], ['Brightness', 0.7, 9]],
    [['Equalize', 0.6, null], ['Equalize', 0.5, null]],
    [['Contrast', 0.6, 7], ['Sharpness', 0.6, 5]],
    [['Color', 0.7, 7], ['TranslateX', 0.5, 8]],
    [['Equalize', 0.3, null], ['AutoContrast', 0.4, null]],
    [['TranslateY', 0.4, 3], ['Sharpness', 0.2, 6]],
    [['Brightness', 0.9, 6], ['Color', 0.2, 8]],
    [['Solarize', 0.5, 2], ['Invert', 0.0, null]],
    [['Equalize', 0.2, null], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.2, null], ['Equalize', 0.6, null]],
    [['Color', 0.9, 9], ['Equalize', 0.6, null]],
    [['AutoContrast', 0.8, null], ['Solarize', 0.2, 8]],
    [['Brightness', 0.1, 3], ['Color', 0.7, 0]],
    [['Solarize', 0.4, 5], ['AutoContrast', 0.9, null]],
    [['TranslateY', 0.9, 9], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.9, null], ['Solarize', 0.8, 3]],
    [['Equalize', 0.8, null], ['Invert', 0.1, null]],
    [['TranslateY', 0.7, 9], ['AutoContrast', 0.9, null]],
  ],
  svhn: [
    [['ShearX', 0.9, 4], ['Invert', 0.2, null]],
    [['ShearY', 0.9, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.6, null], ['Solarize', 0.6, 6]],
    [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Equalize', 0.6, null], ['Rotate', 0.9, 3]],
    [['ShearX', 0.9, 4], ['AutoContrast', 0.8, null]],
    [['ShearY', 0.9, 8], ['Invert', 0.4, null]],
    [['ShearY', 0.9, 5], ['Solarize', 0.2, 6]],
    [['Invert', 0.9, null], ['AutoContrast', 0.8, null]],
    [['Equalize', 0.6, null], ['Rotate', 0.9, 3]],
    [['ShearX', 0.9, 4], ['Solarize', 0.3, 3]],
    [['ShearY', 0.8, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.9, null], ['TranslateY', 0.6, 6]],
    [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Contrast', 0.3, 3], ['Rotate', 0.8, 4]],
    [['Invert', 0.8, null], ['TranslateY', 0.0, 2]],
    [['ShearY', 0.7, 6], ['Solarize', 0.4, 8]],
    [['Invert', 0.6, null], ['Rotate', 0.8, 4]],
    [['ShearY', 0.3, 7], ['TranslateX', 0.9, 3]],
    [['ShearX', 0.1, 6], ['Invert', 0.6, null]],
    [['Solarize', 0.7, 2], ['TranslateY', 0.6, 7]],
    [['ShearY', 0.8, 4], ['Invert', 0.8, null]],
    [['ShearX', 0.7, 9], ['TranslateY', 0.8, 3]],
    [['ShearY', 0.8, 5], ['AutoContrast', 0.7, null]],
    [['ShearX', 0.7, 2], ['Invert', 0.1, null]],
  ],
}

interface AutoAugmentParams {
  policy: keyof typeof AUTO_POLICIES
  interpolation?: Interpolation
  fill: number | number[]
}

/**
 * AutoAugment.forward's draws (get_params): the sub-policy, two uniforms (each op applies when its
 * uniform ≤ its probability) and two signs (0 negates a signed op), five per image; magnitudes from
 * the 10-bin table.
 */
export function autoAugment({policy, interpolation = 'nearest', fill}: AutoAugmentParams): PolicyTransform {
  const subPolicies = AUTO_POLICIES[policy]
  const spaceAt = spaceCache((size) => augmentationSpace('auto', 10, size))
  const ops: AppliedOp[] = []
  const choose: ChooseOps = (size, rng) => {
    const chosen = subPolicies[rng.int(subPolicies.length)]
    const probs = [rng.float(), rng.float()]
    const signs = [rng.int(2), rng.int(2)]
    const space = spaceAt(size)
    ops.length = 0
    chosen.forEach(([name, p, bin], i) => {
      if (!(probs[i] <= p)) return
      const {magnitudes, signed} = space.find((s) => s.name === name)!
      let magnitude = bin !== null && magnitudes ? magnitudes[bin] : 0
      if (signed && signs[i] === 0) magnitude = -magnitude
      ops.push({name, magnitude})
    })
    return ops
  }
  return policyTransform(choose, fillFloats(fill, 'auto_augment.fill'), interpolation)
}

registerPolicy<AutoAugmentParams>({
  name: 'auto_augment',
  summary: "AutoAugment: one of the policy's 25 learned pairs of ops per image, each op with its probability and magnitude, on uint8 pixels.",
  paper: 'arXiv:1805.09501',
  properties: {
    policy: {enum: ['imagenet', 'cifar10', 'svhn'], default: 'imagenet', description: 'the sub-policies learned on ImageNet, CIFAR-10 or SVHN'},
  },
  create: (p) => autoAugment(p),
})
