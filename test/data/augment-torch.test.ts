// Training augmentation against torchvision (test/fixtures/torch/augment.json, made by
// bench/torch/augment_fixture.py): the flip probability, the brightness and hue jitter laws, and the
// whole recipe, as distributions of image features over 4000 draws on each side (the random streams
// differ, the laws must not); and adjust_brightness / adjust_hue exactly, in both orders. Planted wrong
// ranges fail.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {augmentImage, identityJitter, type AugmentParams} from '../../src/data/augment.js'
import {batches} from '../../src/data/batches.js'
import {REPO} from '../helpers.js'
import {cdfProblems} from '../stats.js'

interface Distribution {
  image: string
  n: number
  features: Record<string, number[]>
}
interface Fixture {
  quantile_probs: number[]
  images: Record<string, number[]>
  size: number
  flip: {image: string; n: number; flipped: number}
  distributions: Record<string, Distribution>
  exact: {image: string; brightness: number; hue: number; order: 'brightness_first' | 'hue_first'; output_hwc: number[]}[]
}

const FIXTURE: Fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'augment.json'), 'utf8'))
const S = FIXTURE.size
const N = 4000

/** `n` augmented copies of one fixture image, through the training batches (HWC floats, one per draw). */
function draws(image: string, params: AugmentParams, n = N, seed = 11): Float32Array[] {
  const src = Uint8Array.from(FIXTURE.images[image])
  const px = src.length
  const images = new Uint8Array(n * px)
  for (let i = 0; i < n; i++) images.set(src, i * px)
  const out: Float32Array[] = []
  for (const b of batches({images, labels: new Uint8Array(n), count: n}, {batchSize: 500, imageSize: S, shuffle: false, seed, epoch: 1, augment: params})) {
    for (let k = 0; k < b.size; k++) out.push(b.x.slice(k * px, (k + 1) * px))
  }
  return out
}

const mean = (x: Float32Array, keep: (i: number) => boolean) => {
  let s = 0
  let c = 0
  for (let i = 0; i < x.length; i++) if (keep(i)) (s += x[i]), c++
  return s / c
}
const column = (i: number) => Math.floor(i / 3) % S
const FEATURES: Record<string, (x: Float32Array, src: number[]) => number> = {
  mean_r: (x) => mean(x, (i) => i % 3 === 0),
  mean_g: (x) => mean(x, (i) => i % 3 === 1),
  mean_b: (x) => mean(x, (i) => i % 3 === 2),
  max: (x) => Math.max(...x),
  left_minus_right: (x) => mean(x, (i) => column(i) < S / 2) - mean(x, (i) => column(i) >= S / 2),
  factor: (x, src) => mean(x, () => true) / (src.reduce((a, b) => a + b, 0) / src.length / 255),
}

/** Every feature of distribution `name` drawn by our pipeline with `params`, against torchvision's quantiles. */
function problems(name: string, params: AugmentParams): string[] {
  const d = FIXTURE.distributions[name]
  const ours = draws(d.image, params)
  return Object.entries(d.features).flatMap(([feature, q]) =>
    cdfProblems(
      ours.map((x) => FEATURES[feature](x, FIXTURE.images[d.image])),
      q,
      FIXTURE.quantile_probs,
      d.n,
    ).map((p) => `${name}.${feature}: ${p}`),
  )
}

const OFF = {hflip: false, brightness: 0, hue: 0}

test('flip probability is 0.5, as RandomHorizontalFlip(0.5)', () => {
  const ours = draws(FIXTURE.flip.image, {...OFF, hflip: true}).filter((x) => FEATURES.left_minus_right(x, []) < 0).length / N
  const theirs = FIXTURE.flip.flipped / FIXTURE.flip.n
  const tol = 6 * Math.sqrt(0.25 * (1 / N + 1 / FIXTURE.flip.n))
  assert.ok(Math.abs(ours - theirs) <= tol, `flipped ${ours} vs torchvision ${theirs} (±${tol.toFixed(3)})`)
  assert.ok(Math.abs(0.25 - theirs) > tol, 'planted: a flip probability of 0.25 would fail')
})

test('brightness factor law as ColorJitter(brightness=0.5): U[0.5, 1.5]', () => {
  assert.deepEqual(problems('brightness', {...OFF, brightness: 0.5}), [])
  assert.ok(problems('brightness', {...OFF, brightness: 0.25}).length > 0, 'planted: brightness 0.25 passes')
})

test('hue shift law as ColorJitter(hue=0.25): U[-0.25, 0.25] turns', () => {
  assert.deepEqual(problems('hue', {...OFF, hue: 0.25}), [])
  assert.ok(problems('hue', {...OFF, hue: 0.5}).length > 0, 'planted: hue 0.5 passes')
  assert.ok(problems('hue', {...OFF, hue: 0.1}).length > 0, 'planted: hue 0.1 passes')
})

test('the recipe (flip, then brightness and hue in a random order) as torchvision composes it', () => {
  const recipe = {hflip: true, brightness: 0.5, hue: 0.25}
  assert.deepEqual([...problems('recipe_asymmetric', recipe), ...problems('recipe_colour', recipe)], [])
  assert.ok(problems('recipe_asymmetric', {...recipe, hflip: false}).length > 0, 'planted: no flip passes')
})

test('adjust_brightness and adjust_hue, in both orders, equal torchvision\'s', () => {
  for (const e of FIXTURE.exact) {
    const out = new Float32Array(S * S * 3)
    augmentImage(Uint8Array.from(FIXTURE.images[e.image]), 0, out, 0, S, {...identityJitter(), brightness: e.brightness, hue: e.hue, hueFirst: e.order === 'hue_first'})
    out.forEach((v, i) => assert.ok(Math.abs(v - e.output_hwc[i]) <= 2e-6, `${e.image} b ${e.brightness} h ${e.hue} ${e.order} [${i}]: ${v} vs ${e.output_hwc[i]}`))
  }
})
