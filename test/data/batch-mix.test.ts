// train.mixup's batch mixing (src/data/batch-mix.ts): given the same draws, the images and targets of
// timm's Mixup bit for bit in every mode (test/fixtures/torch/recipe.json, bench/torch/recipe.py);
// the draws' distributions (Beta moments, prob, switch_prob, the boxes); an odd batch's middle
// example; off_epoch; the same seed and epoch giving the same batches.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {applyMix, drawBatch, drawMix, epochMixer, type MixDraw} from '../../src/data/batch-mix.js'
import {beta, Rng} from '../../src/data/random.js'
import type {MixupSpec} from '../../src/schema/spec.js'
import {REPO} from '../helpers.js'

interface FixtureCase {
  name: string
  mode: 'batch' | 'pair' | 'elem'
  draws: {lam: number; box: [number, number, number, number] | null}[]
  images: number[]
  targets: number[]
}
const FIXTURE = (JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'recipe.json'), 'utf8')) as {
  mixup: {images: number[]; size: number; labels: number[]; classes: number; smoothing: number; cases: FixtureCase[]}
}).mixup

const SPEC: MixupSpec = {mixup_alpha: 0.8, cutmix_alpha: 1, prob: 1, switch_prob: 0.5, mode: 'batch', correct_lam: true}

/** Each example's draw, as drawBatch spreads them: one for the batch, one per pair (both examples), one per example (λ in float32 but per batch). */
function perExample(c: FixtureCase, count: number): MixDraw[] {
  const draws = c.draws.map(({lam, box}): MixDraw => ({lam: c.mode === 'batch' ? lam : Math.fround(lam), ...(box ? {box: {top: box[0], bottom: box[1], left: box[2], right: box[3]}} : {})}))
  if (c.mode === 'batch') return new Array<MixDraw>(count).fill(draws[0])
  if (c.mode === 'elem') return draws
  return Array.from({length: count}, (_, i) => draws[Math.min(i, count - 1 - i)])
}

describe('mixing a batch as timm does', () => {
  for (const c of FIXTURE.cases) {
    it(`${c.name}: the images and the targets of timm's Mixup, bit for bit`, () => {
      const {size, labels, classes, smoothing} = FIXTURE
      const x = Float32Array.from(FIXTURE.images)
      const targets = applyMix(x, Int32Array.from(labels), labels.length, size, perExample(c, labels.length), classes, smoothing)
      assert.deepEqual([...x], c.images.map(Math.fround))
      assert.deepEqual([...targets], c.targets.map(Math.fround))
    })
  }

  it("an odd batch: the middle example pairs with itself and is left as it is, its target its own smoothed label", () => {
    const x = Float32Array.from({length: 3 * 2 * 2 * 3}, (_, i) => i / 7)
    const before = x.slice()
    const draws: MixDraw[] = [{lam: 0.3}, {lam: 1}, {lam: 0.3}]
    const targets = applyMix(x, Int32Array.from([0, 1, 2]), 3, 2, draws, 3, 0.3)
    assert.deepEqual([...x.subarray(12, 24)], [...before.subarray(12, 24)])
    assert.deepEqual([...targets.subarray(3, 6)], [0.1, 0.8, 0.1].map(Math.fround))
    assert.notDeepEqual([...x.subarray(0, 12)], [...before.subarray(0, 12)])
    for (const mode of ['pair', 'elem'] as const) assert.deepEqual(drawBatch({...SPEC, mode}, new Rng(1), 5, 8)[2], {lam: 1}, mode)
  })
})

describe('the draws', () => {
  it('Beta(α, α) has its mean 1/2 and variance 1/(4(2α + 1)), for small and large α', () => {
    for (const alpha of [0.1, 0.4, 1, 3]) {
      const rng = new Rng(7, alpha * 10)
      const n = 40_000
      let sum = 0
      let squares = 0
      for (let i = 0; i < n; i++) {
        const v = beta(rng, alpha, alpha)
        assert.ok(v >= 0 && v <= 1, `α ${alpha}: ${v}`)
        sum += v
        squares += v * v
      }
      const mean = sum / n
      const variance = squares / n - mean * mean
      const want = 1 / (4 * (2 * alpha + 1))
      // Five standard errors of the mean (√(var/n)) and about 5 % of the variance.
      assert.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(want / n), `α ${alpha}: mean ${mean}`)
      assert.ok(Math.abs(variance - want) < 0.05 * want, `α ${alpha}: variance ${variance}, want ${want}`)
    }
    const rng = new Rng(3)
    let sum = 0
    for (let i = 0; i < 20_000; i++) sum += beta(rng, 2, 6)
    assert.ok(Math.abs(sum / 20_000 - 0.25) < 0.005, `Beta(2, 6) mean ${sum / 20_000}`)
  })

  it('prob, switch_prob and cutmix_alpha 0 decide what a draw does; a cutmix λ is its box\'s (correct_lam)', () => {
    const count = (spec: MixupSpec, what: (d: MixDraw) => boolean) => {
      const rng = new Rng(11)
      let n = 0
      for (let i = 0; i < 10_000; i++) if (what(drawMix(spec, rng, 32))) n++
      return n / 10_000
    }
    assert.equal(count({...SPEC, prob: 0}, (d) => d.lam === 1), 1)
    assert.ok(Math.abs(count({...SPEC, prob: 0.3}, (d) => d.lam !== 1) - 0.3) < 0.02)
    assert.ok(Math.abs(count({...SPEC, switch_prob: 0.8}, (d) => d.box !== undefined) - 0.8) < 0.02)
    assert.equal(count({...SPEC, cutmix_alpha: 0}, (d) => d.box !== undefined), 0)
    assert.equal(count({...SPEC, mixup_alpha: 0}, (d) => d.box !== undefined), 1)
    const rng = new Rng(5)
    for (let i = 0; i < 2000; i++) {
      const d = drawMix({...SPEC, mixup_alpha: 0}, rng, 32)
      const {top, bottom, left, right} = d.box!
      assert.ok(top >= 0 && left >= 0 && bottom <= 32 && right <= 32 && top <= bottom && left <= right, JSON.stringify(d))
      assert.equal(d.lam, 1 - ((bottom - top) * (right - left)) / 1024)
    }
  })

  it('cutmix_minmax: box sides between ⌊S·min⌋ and ⌊S·max⌋, inside the image; without correct_lam, λ is the Beta draw', () => {
    const rng = new Rng(9)
    for (let i = 0; i < 2000; i++) {
      const {lam, box} = drawMix({...SPEC, mixup_alpha: 0, cutmix_alpha: 0, cutmix_minmax: [0.25, 0.75]}, rng, 32)
      const h = box!.bottom - box!.top
      const w = box!.right - box!.left
      assert.ok(h >= 8 && h < 24 && w >= 8 && w < 24 && box!.bottom <= 32 && box!.right <= 32, JSON.stringify(box))
      assert.equal(lam, 1 - (h * w) / 1024)
    }
    const uncorrected = new Rng(4)
    const lams = Array.from({length: 200}, () => drawMix({...SPEC, mixup_alpha: 0, correct_lam: false}, uncorrected, 32))
    assert.ok(lams.some(({lam, box}) => lam !== 1 - ((box!.bottom - box!.top) * (box!.right - box!.left)) / 1024))
  })

  it('per pair, both examples take one draw; per example, each its own', () => {
    const pair = drawBatch({...SPEC, mode: 'pair'}, new Rng(2), 6, 8)
    assert.deepEqual(pair[0], pair[5])
    assert.deepEqual(pair[1], pair[4])
    assert.notDeepEqual(pair[0], pair[1])
    const elem = drawBatch({...SPEC, mode: 'elem'}, new Rng(2), 6, 8)
    assert.notDeepEqual(elem[0], elem[5])
    assert.equal(new Set(drawBatch(SPEC, new Rng(2), 6, 8)).size, 1)
  })
})

describe('a run\'s mixer', () => {
  const batch = () => ({x: Float32Array.from({length: 4 * 8 * 8 * 3}, (_, i) => (i % 97) / 97), y: Int32Array.from([0, 1, 2, 1]), size: 4})

  it('the same seed and epoch mix the same; another epoch mixes otherwise; none without train.mixup', () => {
    const run = {seed: 3, epoch: 2, numClasses: 3, smoothing: 0}
    const a = batch()
    const b = batch()
    const c = batch()
    const ta = epochMixer(SPEC, run)!.mix(a, 8)
    const tb = epochMixer(SPEC, run)!.mix(b, 8)
    const tc = epochMixer(SPEC, {...run, epoch: 3})!.mix(c, 8)
    assert.deepEqual([a.x, ta], [b.x, tb])
    assert.notDeepEqual([...ta], [...tc])
    assert.equal(epochMixer(undefined, run), undefined)
  })

  it('off_epoch 0 (timm\'s default) never stops the mixing; with both alphas 0 there is no mixer', () => {
    const mixed = batch()
    epochMixer({...SPEC, off_epoch: 0}, {seed: 1, epoch: 50, numClasses: 3, smoothing: 0})!.mix(mixed, 8)
    assert.notDeepEqual(mixed.x, batch().x)
    assert.equal(epochMixer({...SPEC, mixup_alpha: 0, cutmix_alpha: 0}, {seed: 1, epoch: 1, numClasses: 3, smoothing: 0}), undefined)
  })

  it('after off_epoch the images stay as they are and the targets are the smoothed labels', () => {
    const spec = {...SPEC, off_epoch: 2}
    const mixed = batch()
    epochMixer(spec, {seed: 1, epoch: 2, numClasses: 3, smoothing: 0.3})!.mix(mixed, 8)
    assert.notDeepEqual(mixed.x, batch().x)
    const after = batch()
    const targets = epochMixer(spec, {seed: 1, epoch: 3, numClasses: 3, smoothing: 0.3})!.mix(after, 8)
    assert.deepEqual(after.x, batch().x)
    assert.deepEqual([...targets], [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.8, 0.1].map(Math.fround))
  })
})
