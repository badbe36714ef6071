// timm's RandAugment (src/data/timm-rand-augment.ts, src/data/pil-ops.ts) against timm's own code on Pillow 9.4
// (test/fixtures/transforms/timm_rand_augment.json, written by make_timm_rand_augment_fixtures.py from the
// transcription timm_rand_augment.py): every op bit for bit on RGB and grey images of several shapes, both
// resamples, the level functions, the choice weights, and the whole transform on scripted draws (its ops,
// arguments, resamples and image); then the config string's grammar and its refusals, draw() against apply(),
// an image no op changes left as it was, the refusal after normalize, data workers, and the spec's keys.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {BatchWorkers, stayOnTrainingThread, type EpochBatchOptions} from '../../src/data/batch-workers.js'
import {augmentFromConfig, batches, buildPipeline, DataError, loadDataset, pipelinesFromConfig, type Batch, type Pipeline} from '../../src/data/index.js'
import type {PilImage, Resample} from '../../src/data/pil-ops.js'
import {Rng} from '../../src/data/random.js'
import {applyTimmOp, choiceWeights, levelArgs, parseTimmConfig, timmOps, type TimmAppliedOp, type TimmOpName, type TimmRandAugmentTransform} from '../../src/data/timm-rand-augment.js'
import {lookup, type TransformDef} from '../../src/registry/registry.js'
import '../../src/builtins.js'
import {REPO, resolveObject} from '../helpers.js'
import {uniforms} from './helpers.js'

interface FixtureImage {
  width: number
  height: number
  channels: 1 | 3
  pixels: string
}
const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'transforms', 'timm_rand_augment.json'), 'utf8')) as {
  images: Record<string, FixtureImage>
  ops: Array<{image: string; op: TimmOpName; args: number[]; resample: Resample | null; fill: number[] | null; out: string}>
  levels: Array<{op: TimmOpName; magnitude: number; negate: boolean; translate_pct?: number; args: number[]}>
  weights: {tweights: number[]; w0: number[]}
  policies: Array<{config: string; hparams: Record<string, unknown>; image: string; uniforms: number[]; applied: Array<{op: TimmOpName; args: number[]; resample: Resample | null}>; out: string}>
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'))

function image(name: string): PilImage {
  const {width, height, channels, pixels} = fixture.images[name]
  return {data: bytes(pixels), width, height, channels}
}

/** The largest difference between two byte images and how many values differ. */
function compare(actual: Uint8Array, expected: Uint8Array): {max: number; count: number; first: string} {
  let max = 0
  let count = 0
  let first = ''
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i])
    if (d > 0) {
      count++
      if (!first) first = `[${i}] ${actual[i]} vs ${expected[i]}`
    }
    max = Math.max(max, d)
  }
  return {max, count, first}
}

/** The transform as a spec's data.augment builds it. */
function step(params: Record<string, unknown> = {}): TimmRandAugmentTransform {
  const built = pipelinesFromConfig([{type: 'timm_rand_augment', ...params}]).train
  assert.ok(built)
  return built.steps[0] as TimmRandAugmentTransform
}

const GEOMETRIC: TimmOpName[] = ['ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel', 'Rotate']

describe("every op as timm's op function makes it with Pillow 9.4 (test/fixtures/transforms/timm_rand_augment.json)", () => {
  it('the fixture covers every op on RGB 12×12, RGB 9×7 and grey 10×8, the geometric ones with both resamples, both signs, and the transposed rotations', () => {
    const names = new Set(fixture.ops.map((o) => o.op))
    for (const name of ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'PosterizeIncreasing', 'Solarize', 'SolarizeIncreasing', 'SolarizeAdd', 'Color', 'Contrast', 'Brightness', 'Sharpness', ...GEOMETRIC]) assert.ok(names.has(name as TimmOpName), name)
    for (const img of ['rgb12', 'rgb9x7', 'grey10x8']) {
      for (const name of GEOMETRIC) {
        for (const resample of ['bilinear', 'bicubic']) {
          const cases = fixture.ops.filter((o) => o.image === img && o.op === name && o.resample === resample)
          assert.ok(cases.some((o) => o.args[0] < 0) && cases.some((o) => o.args[0] > 0), `${img} ${name} ${resample}: both signs`)
        }
      }
    }
    for (const degrees of [0, 90, -90, 180, 270]) assert.ok(fixture.ops.some((o) => o.op === 'Rotate' && o.args[0] === degrees && o.image === 'rgb12'))
    assert.ok(fixture.ops.length > 500)
  })

  const ops = [...new Set(fixture.ops.map((o) => o.op))]
  for (const name of ops) {
    it(`${name}: bit for bit on every image, magnitude, resample and fill`, () => {
      const cases = fixture.ops.filter((o) => o.op === name)
      const problems: string[] = []
      for (const c of cases) {
        const img = image(c.image)
        const op: TimmAppliedOp = {name: c.op, args: c.args, resample: c.resample}
        const fill = c.fill ?? [0, 0, 0]
        applyTimmOp(img, op, img.channels === 3 ? fill : [fill[0]])
        const {max, count, first} = compare(img.data, bytes(c.out))
        if (count > 0) problems.push(`${c.image} ${c.op}(${c.args}) ${c.resample ?? ''} fill ${c.fill}: ${count} values differ, max ${max}, ${first}`)
      }
      assert.deepEqual(problems, [], `${problems.length} of ${cases.length} cases differ`)
    })
  }
})

describe("timm's level functions, the choice weights and the op lists", () => {
  it('every op at every magnitude, with and without the negation: the same arguments, and one draw exactly where timm negates', () => {
    const signed = new Set<TimmOpName>([...GEOMETRIC, 'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing', 'SharpnessIncreasing'])
    assert.ok(fixture.levels.length > 500)
    for (const c of fixture.levels) {
      const rng = uniforms([c.negate ? 0.75 : 0.25])
      const args = levelArgs(c.op, c.magnitude, rng, c.translate_pct ?? 0.45)
      assert.deepEqual(args, c.args, `${c.op} at ${c.magnitude}${c.negate ? ', negated' : ''}`)
      assert.equal(rng.left(), signed.has(c.op) ? 0 : 1, `${c.op}: draws`)
    }
  })

  it("the weights of tweights and w0 are numpy's (w / np.sum(w), pairwise)", () => {
    assert.deepEqual(timmOps(parseTimmConfig('rand-tweights')).probs, fixture.weights.tweights)
    assert.deepEqual(timmOps(parseTimmConfig('rand-w0')).probs, fixture.weights.w0)
    assert.deepEqual(timmOps(parseTimmConfig('rand-w0-inc1')).probs, fixture.weights.w0, 'w0 weighs the ops by position, inc1 or not')
    // tweights sums to 10.1: a naive left-to-right sum differs in the last bit for some of them.
    assert.deepEqual(choiceWeights([1, 1, 1]), [1 / 3, 1 / 3, 1 / 3])
  })

  it('the op lists: 15 ops, the increasing ones with inc1, tweights its own order', () => {
    assert.deepEqual(timmOps(parseTimmConfig('rand-m9')).names.slice(3, 8), ['Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'Color'])
    assert.deepEqual(timmOps(parseTimmConfig('rand-m9-inc1')).names.slice(3, 8), ['Rotate', 'PosterizeIncreasing', 'SolarizeIncreasing', 'SolarizeAdd', 'ColorIncreasing'])
    assert.deepEqual(timmOps(parseTimmConfig('rand-tweights')).names.slice(0, 3), ['Rotate', 'ShearX', 'ShearY'])
    assert.equal(timmOps(parseTimmConfig('rand')).probs, null)
  })
})

describe("the transform on scripted draws: timm's rand_augment_transform on the same uniforms (its ops, arguments, resamples and image)", () => {
  const hparams = (h: Record<string, unknown>) => ({
    img_mean: h.img_mean,
    ...(h.interpolation ? {interpolation: h.interpolation} : {}),
    ...(h.translate_pct !== undefined ? {translate_pct: h.translate_pct} : {}),
  })
  const configs = [...new Set(fixture.policies.map((c) => c.config))]
  for (const config of configs) {
    const cases = fixture.policies.filter((c) => c.config === config)
    it(`${config}: ${cases.length} draws`, () => {
      for (const c of cases) {
        const what = `${config} ${JSON.stringify(c.hparams)}, uniforms ${c.uniforms.map((u) => u.toFixed(3))}`
        const {width: size} = fixture.images[c.image]
        const transform = step({config, ...hparams(c.hparams)})
        const rng = uniforms(c.uniforms)
        const applied = transform.choose(size, rng).map((op) => ({op: op.name, args: op.args, resample: op.resample}))
        assert.equal(rng.left(), 0, `${what}: drew fewer numbers than timm`)
        assert.deepEqual(applied, c.applied, `${what}: the ops applied`)
        const src = bytes(fixture.images[c.image].pixels)
        const expected = bytes(c.out)
        const fromBytes = new Float32Array(src.length)
        transform.fromBytes!(src, 0, fromBytes, 0, size, uniforms(c.uniforms))
        const got = Uint8Array.from(fromBytes, (v) => Math.round(v * 255))
        const {count, first} = compare(got, expected)
        assert.equal(count, 0, `${what}: fromBytes, ${count} values differ, ${first}`)
        assert.ok(fromBytes.every((v, i) => v === Math.fround(expected[i] / 255)), `${what}: k/255`)
        const floats = Float32Array.from(src, (v) => v / 255)
        transform.apply(floats, 0, size, uniforms(c.uniforms))
        assert.deepEqual(floats, fromBytes, `${what}: apply`)
      }
    })
  }

  it('the fixture draws every op of both lists, skips ops by p, and resamples both ways', () => {
    const applied = fixture.policies.flatMap((c) => c.applied)
    assert.equal(new Set(applied.map((a) => a.op)).size, 21)
    assert.ok(applied.some((a) => a.resample === 'bilinear') && applied.some((a) => a.resample === 'bicubic'))
    assert.ok(fixture.policies.some((c) => c.applied.length === 0 && c.config.includes('mstd0.5')), 'both ops skipped')
  })

  it('the draws by hand: op indices, p, the normal noise from two uniforms, the sign, the resample', () => {
    // rand-m9-n1-mstd1: Rotate (3 of 15), applied (0.1 ≤ 0.5), noise cos(π)·√(−2 ln 0.5) = −1.1774, negated (0.75), bicubic (0.75).
    const ops = step({config: 'rand-m9-n1-mstd1'}).choose(12, uniforms([3.5 / 15, 0.1, 0.5, 0.5, 0.75, 0.75]))
    const m = 9 + Math.cos(Math.PI) * Math.sqrt(-2 * Math.log(1 - 0.5))
    assert.ok(Math.abs(m - 7.8226) < 1e-4)
    assert.deepEqual(ops, [{name: 'Rotate', args: [-((m / 10) * 30)], resample: 'bicubic'}])
    // The magnitude clamps at 10 (mmax absent): 9 + √(−2 ln 0.1) = 11.15, Solarize at 10 → threshold 256.
    assert.deepEqual(step({config: 'rand-m9-n1-mstd1'}).choose(12, uniforms([5.5 / 15, 0.1, 0, 0.9])), [{name: 'Solarize', args: [256], resample: null}])
    // mstd above 100: uniform in [0, m]; p1: no probability draw.
    assert.deepEqual(step({config: 'rand-m8-n1-p1-mstd101'}).choose(12, uniforms([4.5 / 15, 0.5])), [{name: 'Posterize', args: [1], resample: null}])
    // An op skipped (0.6 > 0.5) draws nothing more.
    assert.deepEqual(step({config: 'rand-m9-n2'}).choose(12, uniforms([0, 0, 0.6, 0.6])), [])
    // A fixed interpolation draws no resample.
    assert.deepEqual(step({config: 'rand-n1-p1-m5', interpolation: 'bilinear'}).choose(12, uniforms([11.5 / 15, 0.25])), [{name: 'ShearX', args: [0.15], resample: 'bilinear'}])
  })
})

describe("the config string: timm's grammar, checked", () => {
  it('parses the sections in any order, with their defaults', () => {
    assert.deepEqual(parseTimmConfig('rand-m9-mstd0.5-inc1'), {magnitude: 9, numLayers: 2, prob: 0.5, magnitudeStd: 0.5, magnitudeMax: null, increasing: true, weights: null})
    assert.deepEqual(parseTimmConfig('rand'), {magnitude: 10, numLayers: 2, prob: 0.5, magnitudeStd: 0, magnitudeMax: null, increasing: false, weights: null})
    assert.deepEqual(parseTimmConfig('rand-p0.8-mmax20-n3-m15-mstd101-w0'), {magnitude: 15, numLayers: 3, prob: 0.8, magnitudeStd: Infinity, magnitudeMax: 20, increasing: false, weights: 'w0'})
    assert.equal(parseTimmConfig('rand-tweights-inc1').weights, 'tweights')
    assert.equal(parseTimmConfig('rand-mstd1e3').magnitudeStd, Infinity)
  })

  it('refuses what timm would skip or misread, naming the section and giving the grammar', () => {
    const refused: Array<[string, RegExp]> = [
      ['randaug-m9', /starts with 'randaug', not 'rand'/],
      ['rand-m9-foo', /section 'foo' is not a key followed by a number/],
      ['rand-m9.5', /section 'm9.5': m takes a whole number/],
      ['rand-x3', /section 'x3' has an unknown key 'x'/],
      ['rand-inc0', /section 'inc0': write inc1, or leave it out/],
      ['rand-mmax0', /mmax must be at least 1/],
      ['rand-p1.5', /probability is above 1/],
      ['rand-m9-m10', /section 'm10' sets m a second time/],
      ['rand-t3a', /only the transform set 'tweights'/],
      ['rand-w1', /w0 is the only weight index/],
      ['rand-w0-tweights', /two different weightings/],
      ['rand-', /section '' is not a key followed by a number/],
    ]
    for (const [config, message] of refused) {
      assert.throws(() => parseTimmConfig(config), (e: Error) => message.test(e.message) && e.message.includes("e.g. rand-m9-mstd0.5-inc1") && e.message.includes(`'${config}'`), config)
    }
  })

  it('refuses more weighted ops per image than ops with a weight (numpy would), naming the item in a spec', () => {
    assert.throws(() => step({config: 'rand-n14-w0'}), /data\.augment\[0\].*n14 ops without replacement, but only 13 ops have a weight above 0/)
    assert.doesNotThrow(() => step({config: 'rand-n13-w0'}))
  })
})

describe('draw() and the uint8 round trip', () => {
  const VARIANTS = [{}, {config: 'rand-m9-mstd0.5'}, {config: 'rand-m15-mmax20-n4-mstd101-inc1', interpolation: 'bicubic'}, {config: 'rand-n3-w0-p1'}, {config: 'rand-n2-tweights-inc1'}, {config: 'rand-n0'}]
  it('draw() makes exactly the draws apply() and fromBytes() make, for sizes 3, 9 and 32 and 40 seeds', () => {
    for (const params of VARIANTS) {
      const t = step(params)
      for (const S of [3, 9, 32]) {
        const src = Uint8Array.from({length: S * S * 3}, (_, i) => (i * 37) % 256)
        for (let seed = 0; seed < 40; seed++) {
          const after = (use: (rng: Rng) => void) => {
            const rng = new Rng(seed, S)
            use(rng)
            return rng.uint32()
          }
          const what = `${JSON.stringify(params)} size ${S} seed ${seed}`
          const drawn = after((rng) => t.draw!(S, rng))
          assert.equal(after((rng) => t.apply(Float32Array.from(src, (v) => v / 255), 0, S, rng)), drawn, `${what}: apply`)
          assert.equal(after((rng) => t.fromBytes!(src, 0, new Float32Array(S * S * 3), 0, S, rng)), drawn, `${what}: fromBytes`)
        }
      }
    }
  })

  it('an image no op changes is left bit for bit (off the 1/255 grid); one op takes it through uint8', () => {
    const S = 4
    const n = S * S * 3
    const offGrid = () => Float32Array.from({length: 2 * n}, (_, i) => ((i * 0.61803) % 1) * 0.999 + 0.0004)
    const img = offGrid()
    // Both ops skipped by p (0.9 > 0.5).
    step({config: 'rand-m9-n2'}).apply(img, n, S, uniforms([0, 0.5, 0.9, 0.9]))
    assert.deepEqual(img, offGrid())
    // Invert (2 of 15), applied: 255 − round(x·255), over 255; the first image untouched.
    step({config: 'rand-m9-n1'}).apply(img, n, S, uniforms([2.5 / 15, 0.1]))
    assert.deepEqual(img.subarray(0, n), offGrid().subarray(0, n))
    assert.deepEqual(img.subarray(n), offGrid().subarray(n).map((v) => Math.fround((255 - Math.round(v * 255)) / 255)))
  })
})

describe('in specs and pipelines', () => {
  const withAugment = (augment: unknown) => ({name: 't', data: {dataset: 'synthetic', image_size: 8, augment}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}})

  it("resolves with timm's defaults: DeiT's string, img_mean (124, 116, 104), random resample, translate_pct 0.45", () => {
    assert.deepEqual(resolveObject(withAugment(['timm_rand_augment'])).data.augment, [{type: 'timm_rand_augment', config: 'rand-m9-mstd0.5-inc1', img_mean: [124, 116, 104], interpolation: 'random', translate_pct: 0.45}])
  })

  it('refuses a bad string, an unknown interpolation and a fill of two values, naming the item', () => {
    const refused: Array<[unknown, RegExp]> = [
      [{type: 'timm_rand_augment', config: 'rand-m9-zz'}, /data\.augment\[0\].*section 'zz' is not a key followed by a number/],
      [{type: 'timm_rand_augment', config: 'augmix-m5'}, /data\.augment\[0\]\.config/],
      [{type: 'timm_rand_augment', interpolation: 'nearest'}, /data\.augment\[0\]\.interpolation/],
      [{type: 'timm_rand_augment', img_mean: [1, 2]}, /data\.augment\[0\]\.img_mean/],
    ]
    for (const [item, message] of refused) assert.throws(() => resolveObject(withAugment([item])), message, JSON.stringify(item))
  })

  it('needs [0, 1] pixels: refused after normalize, built before it', () => {
    assert.equal((lookup('transform', 'timm_rand_augment') as TransformDef).needsUnitRange, true)
    const norm = {type: 'normalize', mean: 0.5, std: 0.25}
    assert.throws(() => buildPipeline([norm, {type: 'timm_rand_augment'}], 'train'), (e: Error) => e instanceof DataError && /data\.augment\[1\] \(timm_rand_augment\).*put timm_rand_augment before normalize/.test(e.message))
    assert.ok(buildPipeline([{type: 'hflip'}, {type: 'timm_rand_augment'}, norm], 'train'))
  })

  it('batches made by data workers equal the synchronous batches (12×12 synthetic, 2 workers, two epochs)', async () => {
    const data = await loadDataset({dataset: 'synthetic', image_size: 12, synthetic: {train: 70, test: 10, classes: 3}})
    const augment = augmentFromConfig({augment: ['hflip', {type: 'timm_rand_augment', config: 'rand-m9-n3-mstd0.5-inc1-w0'}, {type: 'timm_rand_augment'}] as never}) as Pipeline
    assert.equal(stayOnTrainingThread(augment), undefined, 'made by the workers')
    const pool = new BatchWorkers(2, 4)
    try {
      for (const epoch of [1, 2]) {
        const opts: EpochBatchOptions = {batchSize: 32, imageSize: 12, shuffle: true, seed: 5, epoch, augment, what: 'the synthetic training split'}
        const expected = [...batches(data.train, {...opts, fresh: true})]
        const actual: Batch[] = []
        const iter = pool.epoch(data.train, opts)
        for (let r = await iter.next(); !r.done; r = await iter.next()) actual.push({x: r.value.x.slice(), y: r.value.y.slice(), size: r.value.size})
        assert.equal(actual.length, expected.length)
        for (const [i, b] of actual.entries()) assert.deepEqual(b.x, expected[i].x, `epoch ${epoch}, batch ${i}`)
      }
    } finally {
      await pool.close()
    }
  })
})
