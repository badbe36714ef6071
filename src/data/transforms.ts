/**
 * The built-in image transforms of `data.augment`, after torchvision's: `paper_augment` (the
 * paper's flip + brightness/hue jitter exactly as `augment: {hflip, brightness, hue}` has always
 * drawn it), `color_jitter` (ColorJitter, a random order per image as `ColorJitter.get_params`
 * draws it), `random_grayscale` (RandomGrayscale), `normalize` (Normalize; applied to evaluation
 * batches too) and `random_erasing` (RandomErasing). The geometric ones — `hflip`, `random_crop`,
 * `random_resized_crop`, `vflip`, `random_rotation` — are in geometric-transforms.ts.
 *
 * Every transform works in place on one S×S×3 HWC float image ([0, 1] after the stored uint8
 * pixels are scaled) and draws from the epoch's seeded generator, in list order, image by image;
 * the draws follow torchvision's `get_params` (same count and order of draws per image). Each one's
 * `draw` makes those draws through the same function its `apply` draws with, so that batches can be
 * made in worker threads with the same numbers (batch-workers.ts).
 */
import {registerTransform, type ImageTransform, type RandomSource} from '../registry/registry.js'
import {augmentImage, hueShiftInto, identityJitter, sampleJitter, type AugmentParams} from './augment.js'
import {roundHalfEven} from './images.js'
import {clamp01, flipRows, GREY, normalDraw, perChannel} from './transform-helpers.js'

/** A number b → [max(0, 1 − b), 1 + b], or an explicit [lo, hi] (torchvision `_check_input`); undefined when it is the identity. */
function factorRange(v: number | [number, number], center: number, bound: [number, number]): [number, number] | undefined {
  const [lo, hi] = Array.isArray(v) ? v : [Math.max(bound[0], center - v), center + v]
  if (!(lo <= hi) || lo < bound[0] || hi > bound[1]) throw new RangeError(`range [${lo}, ${hi}] must lie within [${bound[0]}, ${bound[1]}] with min ≤ max`)
  return lo === center && hi === center ? undefined : [lo, hi]
}

/** Shifts the hue of every pixel of the image at `off` (torchvision's rgb→hsv→rgb). */
function hueShiftImage(img: Float32Array, off: number, size: number, shift: number): void {
  const px = [0, 0, 0]
  for (let i = off, end = off + size * size * 3; i < end; i += 3) {
    hueShiftInto(px, 0, img[i], img[i + 1], img[i + 2], shift)
    img[i] = px[0]
    img[i + 1] = px[1]
    img[i + 2] = px[2]
  }
}

const PAPER_PARAMS = {
  hflip: {type: 'boolean', default: true, description: 'random horizontal flip, p = 0.5'},
  brightness: {type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'brightness factor drawn from [1-b, 1+b]'},
  hue: {type: 'number', minimum: 0, maximum: 0.5, default: 0.25, description: 'hue shift drawn from [-h, h]'},
}

/**
 * The paper's augmentation as one transform: four draws per image (flip, order, brightness, hue)
 * whatever is switched off, so that `augment: {hflip, brightness, hue}` gives the batches it always
 * gave. First in a list it reads the stored bytes (the fused, fast path); later in a list it
 * applies the same draws to the floats with torchvision's hue formulas.
 */
export function paperAugment(p: AugmentParams): ImageTransform {
  const j = identityJitter()
  return {
    draw(_size, rng) {
      sampleJitter(rng, p, j)
    },
    fromBytes(src, sOff, dst, dOff, size, rng) {
      sampleJitter(rng, p, j)
      augmentImage(src, sOff, dst, dOff, size, j)
    },
    apply(img, off, size, rng) {
      sampleJitter(rng, p, j)
      if (j.flip) flipRows(img, off, size)
      const end = off + size * size * 3
      const bright = () => {
        if (j.brightness !== 1) for (let i = off; i < end; i++) img[i] = Math.min(1, img[i] * j.brightness)
      }
      if (!j.hueFirst) bright()
      if (j.hue !== 0) hueShiftImage(img, off, size, j.hue)
      if (j.hueFirst) bright()
    },
  }
}

registerTransform<AugmentParams>({
  name: 'paper_augment',
  summary: "The paper's augmentation: flip (p 0.5) + ColorJitter(brightness, hue), drawn as `augment: {hflip, brightness, hue}` always drew it.",
  applies: 'train',
  schema: {type: 'object', additionalProperties: false, properties: PAPER_PARAMS},
  create: (p) => paperAugment(p),
})

type Jitter = number | [number, number]
interface ColorJitterParams {
  brightness: Jitter
  contrast: Jitter
  saturation: Jitter
  hue: Jitter
}

const jitterSchema = (max: number | undefined, what: string) => ({
  oneOf: [
    {type: 'number', minimum: 0, ...(max === undefined ? {} : {maximum: max})},
    {type: 'array', items: {type: 'number', ...(max === undefined ? {minimum: 0} : {minimum: -max, maximum: max})}, minItems: 2, maxItems: 2},
  ],
  default: 0,
  description: what,
})

registerTransform<ColorJitterParams>({
  name: 'color_jitter',
  summary: 'ColorJitter: brightness, contrast, saturation and hue, each with a random factor, in a random order per image.',
  applies: 'train',
  tiny: {brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1},
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      brightness: jitterSchema(undefined, 'b: factor from [max(0, 1-b), 1+b] (or [min, max]); 0 leaves brightness alone'),
      contrast: jitterSchema(undefined, 'c: factor from [max(0, 1-c), 1+c] (or [min, max]), blending with the mean grey level'),
      saturation: jitterSchema(undefined, 's: factor from [max(0, 1-s), 1+s] (or [min, max]), blending with the grey image'),
      hue: jitterSchema(0.5, 'h ≤ 0.5: hue shift from [-h, h] (or [min, max]) in turns'),
    },
  },
  create: (p) => {
    const ranges = [
      factorRange(p.brightness, 1, [0, Infinity]),
      factorRange(p.contrast, 1, [0, Infinity]),
      factorRange(p.saturation, 1, [0, Infinity]),
      factorRange(p.hue, 0, [-0.5, 0.5]),
    ]
    const order = new Int32Array(4)
    const factors = [1, 1, 1, 0]
    // ColorJitter.get_params: torch.randperm(4), then one draw per adjustment that is on.
    const drawParams = (rng: RandomSource) => {
      for (let i = 0; i < 4; i++) order[i] = i
      for (let i = 3; i > 0; i--) {
        const k = rng.int(i + 1)
        const t = order[i]
        order[i] = order[k]
        order[k] = t
      }
      for (let a = 0; a < 4; a++) {
        const r = ranges[a]
        if (r) factors[a] = r[0] + (r[1] - r[0]) * rng.float()
      }
    }
    return {
      draw(_size, rng) {
        drawParams(rng)
      },
      apply(img, off, size, rng) {
        drawParams(rng)
        const end = off + size * size * 3
        for (const a of order) {
          if (!ranges[a]) continue
          const f = factors[a]
          if (a === 0) {
            for (let i = off; i < end; i++) img[i] = clamp01(img[i] * f)
          } else if (a === 1) {
            let sum = 0
            for (let i = off; i < end; i += 3) sum += GREY[0] * img[i] + GREY[1] * img[i + 1] + GREY[2] * img[i + 2]
            const mean = sum / (size * size)
            for (let i = off; i < end; i++) img[i] = clamp01(f * img[i] + (1 - f) * mean)
          } else if (a === 2) {
            for (let i = off; i < end; i += 3) {
              const grey = GREY[0] * img[i] + GREY[1] * img[i + 1] + GREY[2] * img[i + 2]
              for (let c = 0; c < 3; c++) img[i + c] = clamp01(f * img[i + c] + (1 - f) * grey)
            }
          } else {
            hueShiftImage(img, off, size, f)
          }
        }
      },
    }
  },
})

registerTransform<{p: number}>({
  name: 'random_grayscale',
  summary: 'RandomGrayscale: with probability p, the grey level (rgb_to_grayscale weights) on all three channels.',
  applies: 'train',
  tiny: {p: 0.5},
  schema: {type: 'object', additionalProperties: false, properties: {p: {type: 'number', minimum: 0, maximum: 1, default: 0.1, description: 'probability of turning the image grey'}}},
  create: ({p}) => {
    // RandomGrayscale.forward: one draw, torch.rand(1) < p.
    const greys = (rng: RandomSource) => rng.float() < p
    return {
      draw(_size, rng) {
        greys(rng)
      },
      apply(img, off, size, rng) {
        if (!greys(rng)) return
        for (let i = off, end = off + size * size * 3; i < end; i += 3) {
          const grey = GREY[0] * img[i] + GREY[1] * img[i + 1] + GREY[2] * img[i + 2]
          img[i] = img[i + 1] = img[i + 2] = grey
        }
      },
    }
  },
})

const channelValues = (extra: Record<string, unknown>) => ({
  oneOf: [{type: 'number', ...extra}, {type: 'array', items: {type: 'number', ...extra}, minItems: 1, maxItems: 3}],
})

registerTransform<{mean: number | number[]; std: number | number[]}>({
  name: 'normalize',
  summary: 'Normalize: (x - mean) / std per channel, on training and evaluation batches alike.',
  applies: 'always',
  tiny: {mean: 0.5, std: 0.25},
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['mean', 'std'],
    properties: {
      mean: {...channelValues({}), description: 'per-channel mean of the [0, 1] pixels (one value, or R, G, B)'},
      std: {...channelValues({exclusiveMinimum: 0}), description: 'per-channel standard deviation (one value, or R, G, B), > 0'},
    },
  },
  create: (p) => {
    const mean = perChannel(p.mean, 'normalize.mean')
    const std = perChannel(p.std, 'normalize.std')
    if (!std.every((s) => s > 0)) throw new RangeError(`normalize.std must be > 0; got ${std.join(', ')}`)
    // Pixels are float32: a mean and std that send a [0, 1] pixel past float32's range would train on infinities.
    const outOfRange = [0, 1, 2].find((c) => [0, 1].some((v) => !Number.isFinite(Math.fround((v - mean[c]) / std[c]))))
    if (outOfRange !== undefined) throw new RangeError(`normalize with mean ${mean[outOfRange]} and std ${std[outOfRange]} sends [0, 1] pixels past float32's range (±3.4e38); use the data's own mean and std (a std of the order of 0.1 to 1)`)
    return {
      draw() {},
      apply(img, off, size) {
        for (let i = off, end = off + size * size * 3; i < end; i += 3) {
          for (let c = 0; c < 3; c++) img[i + c] = (img[i + c] - mean[c]) / std[c]
        }
      },
    }
  },
})

interface ErasingParams {
  p: number
  scale: [number, number]
  ratio: [number, number]
  value: number | number[] | 'random'
}

registerTransform<ErasingParams>({
  name: 'random_erasing',
  summary: 'RandomErasing: with probability p, overwrite a random rectangle (area and aspect ratio drawn) with a value or noise.',
  applies: 'train',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      p: {type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'probability of erasing'},
      scale: {type: 'array', items: {type: 'number', minimum: 0, maximum: 1}, minItems: 2, maxItems: 2, default: [0.02, 0.33], description: 'range of the erased area, as a fraction of the image'},
      ratio: {type: 'array', items: {type: 'number', exclusiveMinimum: 0}, minItems: 2, maxItems: 2, default: [0.3, 3.3], description: 'range of the aspect ratio (drawn log-uniformly)'},
      value: {
        oneOf: [{type: 'number'}, {type: 'array', items: {type: 'number'}, minItems: 1, maxItems: 3}, {const: 'random'}],
        default: 0,
        description: 'what the rectangle gets: a value (per channel) in the units of the image at that point, or random: standard normal noise',
      },
    },
  },
  create: (p) => {
    if (!(p.scale[0] <= p.scale[1]) || !(p.ratio[0] <= p.ratio[1])) throw new RangeError('random_erasing.scale and ratio must be [min, max] with min ≤ max')
    const value = p.value === 'random' ? undefined : perChannel(p.value, 'random_erasing.value')
    const logRatio = [Math.log(p.ratio[0]), Math.log(p.ratio[1])]
    // RandomErasing.get_params: the rectangle (up to 10 tries at an area and aspect that fit), its noise, its place; undefined: nothing erased.
    const rectangle = (size: number, rng: RandomSource) => {
      if (!(rng.float() < p.p)) return undefined
      const area = size * size
      for (let attempt = 0; attempt < 10; attempt++) {
        const eraseArea = area * (p.scale[0] + (p.scale[1] - p.scale[0]) * rng.float())
        const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * rng.float())
        const h = roundHalfEven(Math.sqrt(eraseArea * aspect))
        const w = roundHalfEven(Math.sqrt(eraseArea / aspect))
        if (!(h < size && w < size)) continue
        // torchvision draws the noise (C×h×w, channel-major) before the position.
        const noise = value ? undefined : Float32Array.from({length: 3 * h * w}, () => normalDraw(rng))
        return {h, w, noise, top: rng.int(size - h + 1), left: rng.int(size - w + 1)}
      }
      return undefined
    }
    return {
      draw(size, rng) {
        rectangle(size, rng)
      },
      apply(img, off, size, rng) {
        const r = rectangle(size, rng)
        if (!r) return
        const {h, w, noise, top, left} = r
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const d = off + ((top + y) * size + left + x) * 3
            for (let c = 0; c < 3; c++) img[d + c] = value ? value[c] : noise![(c * h + y) * w + x]
          }
        }
      },
    }
  },
})
