/**
 * timm's RandAugment as a `data.augment` transform, `timm_rand_augment`, configured by timm's own
 * string (`rand-m9-mstd0.5-inc1`, DeiT's recipe) as `rand_augment_transform(config_str, hparams)` in
 * timm/data/auto_augment.py reads it — transcribed from commit aa4b5850c1543fa488abf260f18390eda46cf85d
 * (test/fixtures/transforms/timm_rand_augment.py), plus the older `w0` weights — with the ops as
 * Pillow 9.4 computes them on the PIL image timm works on (pil-ops.ts).
 *
 * The grammar: `rand` and then, in any order, `-`-separated sections `m<int>` (magnitude, default
 * 10), `n<int>` (ops per image, default 2), `p<float>` (probability of each op, default 0.5),
 * `mstd<float>` (std of the normal noise added to the magnitude per op; above 100 a uniform draw in
 * [0, m] instead), `mmax<int>` (the magnitude's upper clamp, default 10), `inc1` (the ops whose
 * severity increases with the magnitude), `w0` (timm ≤ 0.6's op weights, chosen without
 * replacement) and `tweights` (timm's newer weights and op list). timm skips what it cannot parse and
 * reads `inc0` as on; here either is refused, naming the section and the grammar.
 *
 * The draws are timm's, in its order, on the project's generator: the ops with np.random.choice
 * (`rng.int(15)` each, or numpy's weighted choice without replacement on `rng.float()` uniforms);
 * per op, `random.random() > p` skips it (no draw when p is 1), random.gauss(m, mstd) as Python
 * computes it from two uniforms (cos(2π·u1)·√(−2·ln(1 − u2)), not the cached sine half Python keeps
 * between calls), random.uniform(0, m), the sign (`random.random() > 0.5` negates), and the
 * resample of a shear, translation or rotation (random.choice of bilinear, bicubic, as timm's
 * `_interpolation` with its default hparams: `rng.int(2)`). None depends on the pixels, so `draw`
 * makes them without the image (batches in worker threads).
 *
 * The ops take uint8 pixels, as PIL's images are: the transform rounds its input to uint8
 * (round(x·255), clamped), applies the ops to the bytes and writes k/255, as auto-augment.ts does
 * (`needsUnitRange`: it must come before normalize); an image no op changes is left as it was.
 * Every op is bit for bit with timm on Pillow 9.4 over the fixture
 * (test/data/timm-rand-augment.test.ts), bicubic included, and so are the drawn ops, arguments,
 * resamples and images of the whole transform on timm's scripted draws. The normal noise goes through
 * V8's Math.cos and Math.log, which may differ from glibc's in the last bit: the magnitude then moves
 * by about 1e-15, which changes an image only where it decides an int() of a level or a float32
 * rounding of a blend factor (none on the fixture). `img_mean` is rounded to whole pixel values, as
 * PIL's fillcolor is given them.
 */
import {registerTransform, type ImageTransform, type RandomSource} from '../registry/registry.js'
import {fillSchema} from './geometric-transforms.js'
import * as pil from './pil-ops.js'
import {perChannel, UINT8_NOTE, uint8Steps} from './transform-helpers.js'

/** The op names of timm's `_RAND_TRANSFORMS`, `_RAND_INCREASING_TRANSFORMS` and `_RAND_WEIGHTED_0`. */
export type TimmOpName =
  | 'AutoContrast'
  | 'Equalize'
  | 'Invert'
  | 'Rotate'
  | 'Posterize'
  | 'PosterizeIncreasing'
  | 'Solarize'
  | 'SolarizeIncreasing'
  | 'SolarizeAdd'
  | 'Color'
  | 'ColorIncreasing'
  | 'Contrast'
  | 'ContrastIncreasing'
  | 'Brightness'
  | 'BrightnessIncreasing'
  | 'Sharpness'
  | 'SharpnessIncreasing'
  | 'ShearX'
  | 'ShearY'
  | 'TranslateXRel'
  | 'TranslateYRel'

/** One op as applied: its name, the arguments its level function gave, and the resample of a geometric op. */
export interface TimmAppliedOp {
  name: TimmOpName
  args: number[]
  resample: pil.Resample | null
}

const LEVEL_DENOM = 10

const RAND_TRANSFORMS: TimmOpName[] = ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'Color', 'Contrast', 'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel']
const RAND_INCREASING_TRANSFORMS: TimmOpName[] = ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'PosterizeIncreasing', 'SolarizeIncreasing', 'SolarizeAdd', 'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing', 'SharpnessIncreasing', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel']
/** timm's `_RAND_WEIGHTED_0` (`tweights`): its ops, in its order, and their weights. */
const RAND_WEIGHTED_0: Array<[TimmOpName, number]> = [
  ['Rotate', 3], ['ShearX', 2], ['ShearY', 2], ['TranslateXRel', 1], ['TranslateYRel', 1], ['ColorIncreasing', 0.25], ['SharpnessIncreasing', 0.25], ['AutoContrast', 0.25],
  ['SolarizeIncreasing', 0.05], ['SolarizeAdd', 0.05], ['ContrastIncreasing', 0.05], ['BrightnessIncreasing', 0.05], ['Equalize', 0.05], ['PosterizeIncreasing', 0.05], ['Invert', 0.05],
]
/** timm ≤ 0.6's `_RAND_CHOICE_WEIGHTS_0` (`w0`), in `_RAND_TRANSFORMS`' order, given to the ops by position (`inc1` or not). */
const RAND_CHOICE_WEIGHTS_0 = [0.025, 0.005, 0, 0.3, 0, 0.005, 0.005, 0.025, 0.005, 0.005, 0.025, 0.2, 0.2, 0.1, 0.1]

/** numpy's pairwise float64 sum (np.add.reduce) of up to 128 values: eight accumulators, then the rest in order. */
function numpySum(a: number[]): number {
  if (a.length < 8) return a.reduce((s, v) => s + v, 0)
  const r = a.slice(0, 8)
  let i = 8
  for (; i < a.length - (a.length % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[i + j]
  let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]))
  for (; i < a.length; i++) res += a[i]
  return res
}

/** The choice probabilities numpy computes from weights: w / np.sum(w). */
export function choiceWeights(weights: number[]): number[] {
  const total = numpySum(weights)
  return weights.map((w) => w / total)
}

/** Where x goes in the sorted cdf, side='right': the first index whose value is above x. */
function searchRight(cdf: number[], x: number): number {
  let i = 0
  while (i < cdf.length && cdf[i] <= x) i++
  return i
}

/**
 * numpy 1.24's RandomState.choice(n, size, replace=False, p) on `rng.float()` uniforms: rounds of
 * `size − found` uniforms through the cdf of the weights left (those found set to 0), keeping the
 * first of each index in a round.
 */
function weightedChoice(p: readonly number[], size: number, rng: RandomSource): number[] {
  const left = p.slice()
  const found: number[] = []
  while (found.length < size) {
    const xs = Array.from({length: size - found.length}, () => rng.float())
    for (const f of found) left[f] = 0
    const cdf: number[] = []
    let sum = 0
    for (const v of left) cdf.push((sum += v))
    const last = cdf[cdf.length - 1]
    const scaled = cdf.map((v) => v / last)
    for (const x of xs) {
      const k = searchRight(scaled, x)
      if (!found.includes(k)) found.push(k)
    }
  }
  return found
}

/** A parsed config string: what rand_augment_transform takes from it. */
export interface TimmRandAugmentConfig {
  magnitude: number
  numLayers: number
  prob: number
  /** 0: no noise; Infinity: uniform in [0, magnitude]. */
  magnitudeStd: number
  magnitudeMax: number | null
  increasing: boolean
  weights: 'w0' | 'tweights' | null
}

/** The magnitude every draw is clamped to (timm's `mmax`, default 10: the levels' denominator). */
export function magnitudeClamp(c: Pick<TimmRandAugmentConfig, 'magnitudeMax'>): number {
  return c.magnitudeMax || LEVEL_DENOM
}

const GRAMMAR =
  "timm's RandAugment string is 'rand' followed by '-'-separated sections in any order: m<int> (magnitude, default 10), n<int> (ops per image, default 2), p<float in [0, 1]> (probability of each op, default 0.5), mstd<float> (magnitude noise std; > 100: uniform in [0, m]), mmax<int ≥ 1> (magnitude clamp, default 10), inc1 (increasing ops), w0 (timm ≤ 0.6's op weights) or tweights (timm's newer op weights); e.g. rand-m9-mstd0.5-inc1"

/** Parses and checks timm's RandAugment string; the error names the section at fault and gives the grammar. */
export function parseTimmConfig(config: string): TimmRandAugmentConfig {
  const refuse = (why: string) => new RangeError(`timm_rand_augment.config '${config}': ${why}. ${GRAMMAR}`)
  const parts = config.split('-')
  if (parts[0] !== 'rand') throw refuse(`it starts with '${parts[0]}', not 'rand'`)
  const out: TimmRandAugmentConfig = {magnitude: LEVEL_DENOM, numLayers: 2, prob: 0.5, magnitudeStd: 0, magnitudeMax: null, increasing: false, weights: null}
  const seen = new Set<string>()
  for (const section of parts.slice(1)) {
    const once = (key: string) => {
      if (seen.has(key)) throw refuse(`section '${section}' sets ${key} a second time`)
      seen.add(key)
    }
    if (section.startsWith('t')) {
      once('t')
      if (section !== 'tweights') throw refuse(`section '${section}': only the transform set 'tweights' is supported (timm's '3a' and '3aw' need GaussianBlur and Desaturate, which are not implemented)`)
      out.weights = 'tweights'
      continue
    }
    const match = /^([a-z]*)(\d.*)$/.exec(section)
    if (!match) throw refuse(`section '${section}' is not a key followed by a number`)
    const [, key, value] = match
    const integer = () => {
      if (!/^\d+$/.test(value)) throw refuse(`section '${section}': ${key} takes a whole number, not '${value}'`)
      return Number(value)
    }
    const float = () => {
      if (!/^\d+(\.\d*)?(e[+-]?\d+)?$/i.test(value)) throw refuse(`section '${section}': ${key} takes a number, not '${value}'`)
      return Number(value)
    }
    once(key)
    switch (key) {
      case 'm':
        out.magnitude = integer()
        break
      case 'n':
        out.numLayers = integer()
        break
      case 'p':
        out.prob = float()
        if (out.prob > 1) throw refuse(`section '${section}': the probability is above 1`)
        break
      case 'mstd': {
        const std = float()
        out.magnitudeStd = std > 100 ? Infinity : std
        break
      }
      case 'mmax':
        out.magnitudeMax = integer()
        if (out.magnitudeMax < 1) throw refuse(`section '${section}': mmax must be at least 1 (timm reads mmax0 as the default 10)`)
        break
      case 'inc':
        if (value !== '1') throw refuse(`section '${section}': write inc1, or leave it out (timm reads any inc value, inc0 included, as on)`)
        out.increasing = true
        break
      case 'w':
        if (value !== '0') throw refuse(`section '${section}': w0 is the only weight index`)
        out.weights = out.weights ?? 'w0'
        break
      default:
        throw refuse(`section '${section}' has an unknown key '${key}'`)
    }
  }
  if (seen.has('t') && seen.has('w')) throw refuse("w0 and tweights are two different weightings; give one")
  return out
}

/** The op list and the choice probabilities (null: uniform, with replacement) of a config, as rand_augment_transform builds them. */
export function timmOps(c: TimmRandAugmentConfig): {names: TimmOpName[]; probs: number[] | null} {
  if (c.weights === 'tweights') return {names: RAND_WEIGHTED_0.map(([name]) => name), probs: choiceWeights(RAND_WEIGHTED_0.map(([, w]) => w))}
  const names = c.increasing ? RAND_INCREASING_TRANSFORMS : RAND_TRANSFORMS
  return {names, probs: c.weights === 'w0' ? choiceWeights(RAND_CHOICE_WEIGHTS_0) : null}
}

/** timm's `_randomly_negate`: negated when the uniform is above 0.5. */
const negate = (v: number, rng: RandomSource) => (rng.float() > 0.5 ? -v : v)

const enhance = (level: number) => [(level / LEVEL_DENOM) * 1.8 + 0.1]
const enhanceIncreasing = (level: number, rng: RandomSource) => [Math.max(0.1, 1.0 + negate((level / LEVEL_DENOM) * 0.9, rng))]
const posterizeBits = (level: number) => Math.trunc((level / LEVEL_DENOM) * 4)
const solarizeThreshold = (level: number) => Math.min(256, Math.trunc((level / LEVEL_DENOM) * 256))

/** timm's LEVEL_TO_ARG: the op's arguments at a (clamped) magnitude, drawing the sign where it takes one. */
export function levelArgs(name: TimmOpName, level: number, rng: RandomSource, translatePct = 0.45): number[] {
  switch (name) {
    case 'AutoContrast':
    case 'Equalize':
    case 'Invert':
      return []
    case 'Rotate':
      return [negate((level / LEVEL_DENOM) * 30, rng)]
    case 'Posterize':
      return [posterizeBits(level)]
    case 'PosterizeIncreasing':
      return [4 - posterizeBits(level)]
    case 'Solarize':
      return [solarizeThreshold(level)]
    case 'SolarizeIncreasing':
      return [256 - solarizeThreshold(level)]
    case 'SolarizeAdd':
      return [Math.min(128, Math.trunc((level / LEVEL_DENOM) * 110))]
    case 'Color':
    case 'Contrast':
    case 'Brightness':
    case 'Sharpness':
      return enhance(level)
    case 'ColorIncreasing':
    case 'ContrastIncreasing':
    case 'BrightnessIncreasing':
    case 'SharpnessIncreasing':
      return enhanceIncreasing(level, rng)
    case 'ShearX':
    case 'ShearY':
      return [negate((level / LEVEL_DENOM) * 0.3, rng)]
    case 'TranslateXRel':
    case 'TranslateYRel':
      return [negate((level / LEVEL_DENOM) * translatePct, rng)]
  }
}

const GEOMETRIC = new Set<TimmOpName>(['Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel'])

/** timm's NAME_TO_OP: applies one op to the image in place (`fill`: the img_mean fillcolor of the geometric ops). */
export function applyTimmOp(img: pil.PilImage, op: TimmAppliedOp, fill: readonly number[]): void {
  const [arg] = op.args
  const resample = op.resample ?? 'bicubic'
  switch (op.name) {
    case 'AutoContrast':
      return pil.autocontrast(img)
    case 'Equalize':
      return pil.equalize(img)
    case 'Invert':
      return pil.invert(img)
    case 'Rotate':
      return pil.rotate(img, arg, resample, fill)
    case 'Posterize':
    case 'PosterizeIncreasing':
      return pil.posterize(img, arg)
    case 'Solarize':
    case 'SolarizeIncreasing':
      return pil.solarize(img, arg)
    case 'SolarizeAdd':
      return pil.solarizeAdd(img, arg)
    case 'Color':
    case 'ColorIncreasing':
      return pil.color(img, arg)
    case 'Contrast':
    case 'ContrastIncreasing':
      return pil.contrast(img, arg)
    case 'Brightness':
    case 'BrightnessIncreasing':
      return pil.brightness(img, arg)
    case 'Sharpness':
    case 'SharpnessIncreasing':
      return pil.sharpness(img, arg)
    case 'ShearX':
      return pil.affine(img, [1, arg, 0, 0, 1, 0], resample, fill)
    case 'ShearY':
      return pil.affine(img, [1, 0, 0, arg, 1, 0], resample, fill)
    case 'TranslateXRel':
      return pil.affine(img, [1, 0, arg * img.width, 0, 1, 0], resample, fill)
    case 'TranslateYRel':
      return pil.affine(img, [1, 0, 0, 0, 1, arg * img.height], resample, fill)
  }
}

export type TimmInterpolation = 'random' | 'bilinear' | 'bicubic'

export interface TimmRandAugmentParams {
  config: string
  img_mean: number | number[]
  interpolation: TimmInterpolation
  translate_pct: number
}

/** The transform: `choose` makes one image's draws (exposed for the tests), then the ops run on its bytes. */
export interface TimmRandAugmentTransform extends ImageTransform {
  choose(size: number, rng: RandomSource): TimmAppliedOp[]
}

export function timmRandAugment(params: TimmRandAugmentParams): TimmRandAugmentTransform {
  const c = parseTimmConfig(params.config)
  const {names, probs} = timmOps(c)
  if (probs && c.numLayers > probs.filter((p) => p > 0).length) {
    throw new RangeError(`timm_rand_augment.config '${params.config}': n${c.numLayers} ops without replacement, but only ${probs.filter((p) => p > 0).length} ops have a weight above 0 (numpy refuses it: "Fewer non-zero entries in p than size"); lower n`)
  }
  const fill = perChannel(params.img_mean, 'timm_rand_augment.img_mean').map((v) => Math.round(v))
  const upper = magnitudeClamp(c)
  const ops: TimmAppliedOp[] = []
  const choose = (_size: number, rng: RandomSource): TimmAppliedOp[] => {
    ops.length = 0
    const chosen = probs ? weightedChoice(probs, c.numLayers, rng) : Array.from({length: c.numLayers}, () => rng.int(names.length))
    for (const index of chosen) {
      const name = names[index]
      // AugmentOp.__call__: the probability, the magnitude noise, the clamp, the level's arguments, the resample.
      if (c.prob < 1 && rng.float() > c.prob) continue
      let magnitude = c.magnitude
      if (c.magnitudeStd === Infinity) magnitude = 0 + (magnitude - 0) * rng.float()
      else if (c.magnitudeStd > 0) {
        const x2pi = rng.float() * (2 * Math.PI)
        const g2rad = Math.sqrt(-2 * Math.log(1 - rng.float()))
        magnitude = magnitude + Math.cos(x2pi) * g2rad * c.magnitudeStd
      }
      magnitude = Math.max(0, Math.min(magnitude, upper))
      const args = levelArgs(name, magnitude, rng, params.translate_pct)
      let resample: pil.Resample | null = null
      if (GEOMETRIC.has(name)) resample = params.interpolation === 'random' ? (rng.int(2) === 0 ? 'bilinear' : 'bicubic') : params.interpolation
      ops.push({name, args, resample})
    }
    return ops
  }
  let bytes = new Uint8Array(0)
  const run = (px: Uint8Array, size: number, applied: TimmAppliedOp[]) => {
    const img: pil.PilImage = {data: px, width: size, height: size, channels: 3}
    for (const op of applied) applyTimmOp(img, op, fill)
  }
  const buffer = (n: number) => {
    if (bytes.length !== n) bytes = new Uint8Array(n)
    return bytes
  }
  // No op applied (n0, every op skipped by p): the image as it was, as timm returns it.
  return {choose, ...uint8Steps(choose, (applied) => applied.length > 0, run, buffer)}
}

registerTransform<TimmRandAugmentParams>({
  name: 'timm_rand_augment',
  summary: "timm's RandAugment from its config string (rand-m9-mstd0.5-inc1, DeiT's recipe): PIL's ops, bit for bit, on uint8 pixels.",
  paper: 'arXiv:1909.13719',
  applies: 'train',
  // The ops take uint8 pixels: after normalize (whose output is none) the list is refused.
  needsUnitRange: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    description: UINT8_NOTE,
    properties: {
      config: {type: 'string', pattern: '^rand(-.*)?$', default: 'rand-m9-mstd0.5-inc1', description: "timm's RandAugment string: rand, then -m<int> magnitude (10), -n<int> ops per image (2), -p<float> probability of each (0.5), -mstd<float> magnitude noise (>100: uniform), -mmax<int> magnitude clamp (10), -inc1 increasing ops, -w0 or -tweights op weights"},
      img_mean: {...fillSchema("timm's img_mean hparam: what shears, translations and rotations bring in from outside the image (timm's create_transform: round(255·the ImageNet mean))"), default: [124, 116, 104]},
      interpolation: {enum: ['random', 'bilinear', 'bicubic'], default: 'random', description: "the resample of shears, translations and rotations: random (bilinear or bicubic per op, timm's default) or one of them (timm's interpolation hparam; DeiT passes its train interpolation, bicubic)"},
      translate_pct: {type: 'number', minimum: 0, default: 0.45, description: "timm's translate_pct hparam: the largest translation (at magnitude 10) as a fraction of the image side"},
    },
  },
  create: (p) => timmRandAugment(p),
})
