/**
 * A seeded synthetic dataset that small models learn in a few epochs: each class has its own
 * pattern (stripes, checkerboard, disc, ring, square, cross, dots, ...; classes beyond ten reuse
 * the patterns at another scale) drawn in its own colour on a dark background, with per-image
 * random position, colour intensity, background level and pixel noise. The class is carried by
 * the shape, which survives the training augmentation (flip, brightness, hue); colour is a
 * secondary cue.
 */
import {registerDataset, type DataOptions, type LabelArray} from '../registry/registry.js'
import {DATASETS} from './catalog.js'
import {checkCount, DataError} from './errors.js'
import {labelArray, MAX_CLASSES} from './labels.js'
import {deriveSeed, Rng} from './random.js'

/** `data.synthetic`: how many images, classes, how noisy, from which seed. */
export interface SyntheticConfig {
  train: number
  test: number
  classes: number
  /** Pixel noise amplitude (uniform ±noise in [0, 1] units); default 0.1. */
  noise?: number
  /** Seed of the generated data (independent of the training seed); default 0. */
  seed?: number
}

export const SYNTHETIC_DEFAULTS: Required<SyntheticConfig> = {train: 2000, test: 500, classes: 10, noise: 0.1, seed: 0}

export interface SyntheticOptions {
  count: number
  classes: number
  size: number
  /** Pixel noise amplitude in [0, 1] (uniform ±noise); default 0.1. */
  noise?: number
  seed?: number
}

const PATTERNS = 10

function frac(x: number): number {
  return x - Math.floor(x)
}

/** 1 where the pattern is drawn, 0 elsewhere; (u, v) pixel centre in [0, 1]², (cx, cy) pattern centre. */
function pattern(kind: number, u: number, v: number, cx: number, cy: number, scale: number): number {
  const x = u - cx
  const y = v - cy
  const ax = Math.abs(x)
  const ay = Math.abs(y)
  const per = 0.25 * scale
  switch (kind) {
    case 0: return frac(y / per) < 0.5 ? 1 : 0 // horizontal stripes
    case 1: return frac(x / per) < 0.5 ? 1 : 0 // vertical stripes
    case 2: return (Math.floor(x / per) + Math.floor(y / per)) & 1 ? 0 : 1 // checkerboard
    case 3: return x * x + y * y < (0.3 * scale) ** 2 ? 1 : 0 // disc
    case 4: return Math.abs(Math.sqrt(x * x + y * y) - 0.28 * scale) < 0.07 ? 1 : 0 // ring
    case 5: { const m = Math.max(ax, ay); return m > 0.2 * scale && m < 0.32 * scale ? 1 : 0 } // square outline
    case 6: return ax < 0.12 * scale && ay < 0.36 * scale ? 1 : 0 // vertical bar
    case 7: return (ax < 0.08 || ay < 0.08) && Math.max(ax, ay) < 0.36 * scale ? 1 : 0 // plus
    case 8: return Math.abs(ax - ay) < 0.08 && Math.max(ax, ay) < 0.36 * scale ? 1 : 0 // X
    default: { // dot lattice
      const dx = frac(x / per + 0.5) - 0.5
      const dy = frac(y / per + 0.5) - 0.5
      return dx * dx + dy * dy < 0.09 ? 1 : 0
    }
  }
}

/** HSV (all in [0, 1]) → RGB in [0, 1]. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6) % 6
  const f = h * 6 - Math.floor(h * 6)
  const p = v * (1 - s)
  const q = v * (1 - s * f)
  const t = v * (1 - s * (1 - f))
  return ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]] as const)[i].slice() as [number, number, number]
}

export function classColour(k: number): [number, number, number] {
  return hsv(frac(k * 0.618033988749895), 0.75, 1)
}

/** Generates `count` images (uint8 NHWC) with labels 0, 1, …, classes−1, 0, 1, … (bytes up to 256 classes, else 16 bits). */
export function generateSynthetic(o: SyntheticOptions): {images: Uint8Array; labels: LabelArray} {
  const {count, classes, size} = o
  const noise = o.noise ?? 0.1
  const rng = new Rng(o.seed ?? 0, 0x5e7)
  const images = new Uint8Array(count * size * size * 3)
  const labels = labelArray(classes, count)
  const colours = Array.from({length: classes}, (_, k) => classColour(k))
  const amp = noise * 255
  for (let n = 0; n < count; n++) {
    const k = n % classes
    labels[n] = k
    const kind = k % PATTERNS
    const scale = 1 / (1 + 0.35 * Math.floor(k / PATTERNS))
    const cx = 0.5 + rng.uniform(-0.06, 0.06)
    const cy = 0.5 + rng.uniform(-0.06, 0.06)
    const gain = rng.uniform(0.7, 1) * 255
    const fg = colours[k]
    const bgLevel = rng.uniform(0.03, 0.25) * 255
    let o2 = n * size * size * 3
    for (let y = 0; y < size; y++) {
      const v = (y + 0.5) / size
      for (let x = 0; x < size; x++) {
        const u = (x + 0.5) / size
        const m = pattern(kind, u, v, cx, cy, scale)
        for (let c = 0; c < 3; c++) {
          let val = m ? fg[c] * gain : bgLevel
          if (amp > 0) val += (rng.float() * 2 - 1) * amp
          images[o2++] = val <= 0 ? 0 : val >= 255 ? 255 : (val + 0.5) | 0
        }
      }
    }
  }
  return {images, labels}
}

function syntheticOptions(cfg: {synthetic?: Partial<SyntheticConfig>}): Required<SyntheticConfig> {
  const s = {...SYNTHETIC_DEFAULTS, ...(cfg.synthetic ?? {})}
  checkCount('synthetic.train', s.train, 1)
  checkCount('synthetic.test', s.test, 1)
  if (!Number.isInteger(s.classes) || s.classes < 2 || s.classes > MAX_CLASSES) throw new DataError(`data.synthetic.classes must be an integer between 2 and ${MAX_CLASSES}; got ${s.classes}.`)
  if (!(s.noise >= 0 && s.noise <= 1)) throw new DataError(`data.synthetic.noise must be between 0 and 1; got ${s.noise}.`)
  return s
}

registerDataset<{synthetic?: Partial<SyntheticConfig>}>({
  name: 'synthetic',
  summary: DATASETS.synthetic.summary,
  classes: SYNTHETIC_DEFAULTS.classes,
  nativeSize: DATASETS.synthetic.nativeSize,
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      synthetic: {
        type: 'object',
        additionalProperties: false,
        properties: {
          train: {type: 'integer', minimum: 1, maximum: 100_000, description: 'training images (default 2000)'},
          test: {type: 'integer', minimum: 1, maximum: 100_000, description: 'test images (default 500)'},
          classes: {type: 'integer', minimum: 2, maximum: MAX_CLASSES, description: 'number of classes (default 10)'},
          noise: {type: 'number', minimum: 0, description: 'pixel noise level (default 0.1)'},
          seed: {type: 'integer', minimum: 0, maximum: 4294967295, description: 'seed of the generated images (default 0)'},
        },
      },
    },
  },
  classNames: (cfg) => Array.from({length: syntheticOptions(cfg).classes}, (_, i) => `class_${i}`),
  async load(cfg: DataOptions & {synthetic?: Partial<SyntheticConfig>}, ctx) {
    const s = syntheticOptions(cfg)
    const size = cfg.image_size
    const t0 = performance.now()
    const make = (count: number, part: number) => {
      const g = generateSynthetic({count, classes: s.classes, size, noise: s.noise, seed: deriveSeed(s.seed, part)})
      return {images: g.images, labels: g.labels, count}
    }
    const train = make(Math.min(s.train, ctx.limits.train), 1)
    const test = make(Math.min(s.test, ctx.limits.test), 2)
    ctx.log(`synthetic: ${train.count} train / ${test.count} test, ${s.classes} classes, ${size}×${size} (${((performance.now() - t0) / 1000).toFixed(2)} s)`)
    return {train, test, classNames: Array.from({length: s.classes}, (_, i) => `class_${i}`), source: `synthetic (generated, seed ${s.seed}, noise ${s.noise})`}
  },
})
