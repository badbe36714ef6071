// torchvision's automatic augmentation policies (src/data/auto-augment.ts) against torchvision 0.14 itself
// (test/fixtures/transforms/auto_augment.json, written by make_auto_augment_fixtures.py): every op bit for bit
// on uint8 images, the geometric ones with nearest and with bilinear interpolation, the magnitude tables, the
// policies' ops, magnitudes, signs and images on scripted draws (both interpolations); then draw() against
// apply(), an image no op changes left as it was, the refusal after normalize, the same batches from data
// workers, and the spec's checks of the keys.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {applyOp, policySpace, type AppliedOp, type OpName, type PolicyTransform} from '../../src/data/auto-augment.js'
import {fmaf} from '../../src/data/geometric-transforms.js'
import {BatchWorkers, stayOnTrainingThread, type EpochBatchOptions} from '../../src/data/batch-workers.js'
import {augmentFromConfig, batches, buildPipeline, DataError, loadDataset, pipelinesFromConfig, type Batch, type Pipeline, type Split} from '../../src/data/index.js'
import {leavesUnitRange, unitRangeProblems} from '../../src/data/pipeline.js'
import {allEntries, lookup, type TransformDef} from '../../src/registry/registry.js'
import {Rng} from '../../src/data/random.js'
import '../../src/builtins.js'
import {REPO, resolveObject} from '../helpers.js'
import {uniforms} from './helpers.js'

type PolicyName = 'trivial_augment_wide' | 'rand_augment' | 'auto_augment'

const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'transforms', 'auto_augment.json'), 'utf8')) as {
  images: Record<string, {size: number; pixels: number[]}>
  ops: Array<{image: string; op: OpName; magnitude: number; fill: number[] | null; out: number[]; interpolation?: 'bilinear'}>
  tables: Array<{policy: PolicyName; num_bins: number; size: number; space: Record<string, [number[], boolean]>}>
  policies: Array<{policy: PolicyName; params: Record<string, unknown>; image: string; uniforms: number[]; applied: Array<[OpName, number]>; out: number[]}>
}

/** The transform `type` with `params`, as a spec's data.augment builds it. */
function policy(type: PolicyName, params: Record<string, unknown> = {}): PolicyTransform {
  const built = pipelinesFromConfig([{type, ...params}]).train
  assert.ok(built)
  return built.steps[0] as PolicyTransform
}

/** Where two uint8 images differ: '' when they are equal, else how many pixels and the first few. */
function difference(actual: ArrayLike<number>, expected: number[]): string {
  const diffs: string[] = []
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) diffs.push(`[${i}] ${actual[i]} vs ${expected[i]}`)
  return diffs.length === 0 ? '' : `${diffs.length} values differ: ${diffs.slice(0, 4).join(', ')}`
}

const pixels = (name: string) => Uint8Array.from(fixture.images[name].pixels)

describe("every op as torchvision's _apply_op makes it of a uint8 image (test/fixtures/transforms/auto_augment.json)", () => {
  const ALL_OPS: OpName[] = ['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness', 'Posterize', 'Solarize', 'AutoContrast', 'Equalize', 'Invert']
  const SIGNED: OpName[] = ['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness']

  it('the fixture covers every op, the signed ones with both signs, on 9×9 (structured, low-contrast), 8×8 and 16×16 images, with and without a fill', () => {
    for (const name of ALL_OPS) assert.ok(fixture.ops.some((o) => o.op === name), name)
    for (const name of SIGNED) assert.ok(fixture.ops.some((o) => o.op === name && o.magnitude < 0) && fixture.ops.some((o) => o.op === name && o.magnitude > 0), `${name}: both signs`)
    for (const image of ['structured9', 'low9', 'random8', 'random16']) assert.ok(fixture.ops.some((o) => o.image === image && o.op === 'ShearX') || image === 'low9', image)
    assert.ok(fixture.ops.filter((o) => o.op === 'AutoContrast').length >= 8 && fixture.ops.filter((o) => o.op === 'Equalize').length >= 8)
    assert.ok(fixture.ops.some((o) => o.fill && o.fill[0] === 255) && fixture.ops.some((o) => o.op === 'Rotate' && !o.fill))
  })

  for (const name of ALL_OPS) {
    const cases = fixture.ops.filter((o) => o.op === name && !o.interpolation)
    it(`${name}: ${cases.length} cases bit for bit`, () => {
      const failures: string[] = []
      for (const c of cases) {
        const {size} = fixture.images[c.image]
        const px = pixels(c.image)
        applyOp(px, size, {name, magnitude: c.magnitude}, (c.fill ?? [0, 0, 0]) as [number, number, number], new Uint8Array(px.length))
        const why = difference(px, c.out)
        if (why) failures.push(`${name} ${c.magnitude} on ${c.image}${c.fill ? ` fill ${c.fill}` : ''}: ${why}`)
      }
      assert.deepEqual(failures, [])
    })
  }

  const GEOMETRIC: OpName[] = ['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate']
  const bilinear = fixture.ops.filter((o) => o.interpolation === 'bilinear')

  it('the fixture has every geometric op with bilinear, both signs, at several magnitudes, with the fill 0, a colour and a fractional one, on 9×9, 8×8, 16×16 and 32×32', () => {
    assert.ok(bilinear.every((o) => GEOMETRIC.includes(o.op) && o.fill), 'geometric ops with a fill')
    for (const name of GEOMETRIC) {
      const mine = bilinear.filter((o) => o.op === name)
      assert.ok(new Set(mine.map((o) => Math.abs(o.magnitude))).size >= 5 && mine.some((o) => o.magnitude < 0) && mine.some((o) => o.magnitude > 0), `${name}: magnitudes and signs`)
      for (const fill of ['0,0,0', '255,128,0', '10.4,127.5,200.6']) assert.ok(mine.some((o) => o.image === 'structured9' && String(o.fill) === fill), `${name}: fill ${fill}`)
      for (const image of ['random8', 'random16', 'random32']) assert.ok(mine.some((o) => o.image === image), `${name} on ${image}`)
    }
  })

  for (const name of GEOMETRIC) {
    const cases = bilinear.filter((o) => o.op === name)
    it(`${name} with bilinear interpolation: ${cases.length} cases bit for bit (torch's float32 grid_sample on the uint8 image, the fill blended by the mask, rounded)`, () => {
      const failures: string[] = []
      let nearestDiffers = 0
      for (const c of cases) {
        const {size} = fixture.images[c.image]
        const px = pixels(c.image)
        applyOp(px, size, {name, magnitude: c.magnitude}, c.fill as [number, number, number], new Uint8Array(px.length), 'bilinear')
        const why = difference(px, c.out)
        if (why) failures.push(`${name} ${c.magnitude} on ${c.image} fill ${c.fill}: ${why}`)
        const near = pixels(c.image)
        applyOp(near, size, {name, magnitude: c.magnitude}, c.fill as [number, number, number], new Uint8Array(px.length))
        if (difference(near, c.out)) nearestDiffers++
      }
      assert.deepEqual(failures, [])
      // torchvision translates by whole pixels (int(magnitude)): every weight is 0 or 1, and bilinear is nearest. Elsewhere another image.
      if (name.startsWith('Translate')) assert.equal(nearestDiffers, 0)
      else assert.ok(nearestDiffers >= cases.length * 0.8, `nearest differs in ${nearestDiffers} of ${cases.length}`)
    })
  }

  it('fmaf rounds a·b + c once, where the sum in doubles lands on a float32 halfway point that the exact sum is not on', () => {
    // 130 · (16519105 · 2^-55) = 2^-24 + 2^-54: 1 + that is a quarter of a double's step above the halfway point 1 + 2^-24.
    const w = 16519105 * 2 ** -55
    assert.equal(Math.fround(w), w)
    assert.equal(1 + 130 * w, 1 + 2 ** -24, 'the double lands on the halfway point')
    assert.equal(fmaf(130, w, 1), 1 + 2 ** -23, 'above it: up')
    // 151 · (14221746 · 2^-55) = 2^-24 − 2^-54: from 1 + 2^-23 (odd), just below the halfway point to 1 + 2^-22 (even).
    const w2 = 14221746 * 2 ** -55
    assert.equal(Math.fround(w2), w2)
    assert.equal(Math.fround(1 + 2 ** -23 + 151 * w2), 1 + 2 ** -22, 'rounding the double twice goes up')
    assert.equal(fmaf(151, w2, 1 + 2 ** -23), 1 + 2 ** -23, 'below it: down')
    // Elsewhere it is the float32 of the double sum.
    for (const [a, b, c] of [[255, 0.3, 17.25], [3, Math.fround(0.1), -0.5], [0, 0.7, 12], [200, Math.fround(1 / 3), 0]]) assert.equal(fmaf(a, b, c), Math.fround(a * b + c))
  })

  it('Sharpness leaves images of side 2 or less as they are (torchvision returns them unchanged)', () => {
    const px = Uint8Array.from({length: 12}, (_, i) => i * 20)
    applyOp(px, 2, {name: 'Sharpness', magnitude: 0.9}, [0, 0, 0], new Uint8Array(12))
    assert.deepEqual([...px], Array.from({length: 12}, (_, i) => i * 20))
  })
})

describe("the magnitude tables are torchvision's _augmentation_space", () => {
  it('TrivialAugmentWide, RandAugment (at 9 and 32 pixels) and AutoAugment: op order, signs, float32 magnitudes (torch.linspace) and Posterize bits, for 2 to 50 bins', () => {
    for (const t of fixture.tables) {
      const ours = policySpace(t.policy, t.num_bins, t.size)
      const what = `${t.policy}, ${t.num_bins} bins, size ${t.size}`
      assert.deepEqual(ours.map((s) => s.name), Object.keys(t.space), `${what}: the ops in order`)
      for (const s of ours) {
        const [magnitudes, signed] = t.space[s.name]
        assert.equal(s.signed, signed, `${what}: ${s.name} signed`)
        assert.deepEqual(s.magnitudes ? [...s.magnitudes] : [0], magnitudes, `${what}: ${s.name} magnitudes`)
      }
    }
  })
})

describe("the policies on scripted draws: torchvision's forward on the same uniforms (its ops, magnitudes, signs and image)", () => {
  for (const kind of ['trivial_augment_wide', 'rand_augment', 'auto_augment'] as const) {
    const cases = fixture.policies.filter((c) => c.policy === kind)
    it(`${kind}: ${cases.length} draws`, () => {
      assert.ok(cases.length >= 20)
      for (const c of cases) {
        const what = `${kind} ${JSON.stringify(c.params)} on ${c.image}, uniforms ${c.uniforms.map((u) => u.toFixed(3))}`
        const {size} = fixture.images[c.image]
        const step = policy(kind, c.params)
        const rng = uniforms(c.uniforms)
        const applied: AppliedOp[] = step.choose(size, rng).map((op) => ({...op}))
        assert.equal(rng.left(), 0, `${what}: drew fewer numbers than torchvision`)
        assert.deepEqual(applied.map((op) => [op.name, op.magnitude]), c.applied, `${what}: the ops applied`)
        // The whole transform: from the stored bytes, and from [0, 1] floats.
        const src = pixels(c.image)
        const fromBytes = new Float32Array(src.length)
        step.fromBytes!(src, 0, fromBytes, 0, size, uniforms(c.uniforms))
        assert.equal(difference(fromBytes.map((v) => Math.round(v * 255)), c.out), '', `${what}: fromBytes`)
        assert.ok(fromBytes.every((v, i) => v === Math.fround(c.out[i] / 255)), `${what}: k/255`)
        const floats = Float32Array.from(src, (v) => v / 255)
        step.apply(floats, 0, size, uniforms(c.uniforms))
        assert.deepEqual(floats, fromBytes, `${what}: apply`)
      }
    })
  }

  it('the fixture runs each policy with bilinear interpolation, geometric ops drawn, with the fill 0 and others', () => {
    for (const kind of ['trivial_augment_wide', 'rand_augment', 'auto_augment']) {
      const cases = fixture.policies.filter((c) => c.policy === kind && c.params.interpolation === 'bilinear')
      assert.ok(cases.length >= 8, kind)
      assert.ok(cases.some((c) => c.params.fill === 0) && cases.some((c) => c.params.fill !== 0), `${kind}: fills`)
      const drawn = new Set(cases.flatMap((c) => c.applied.map(([name]) => name)))
      for (const name of kind === 'trivial_augment_wide' ? ['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate'] : ['ShearX', 'Rotate']) assert.ok(drawn.has(name as OpName), `${kind}: ${name}`)
    }
  })

  it('the fixture draws every op of TrivialAugmentWide and RandAugment, both signs, and AutoAugment pairs with none, one and both ops applied', () => {
    const wide = fixture.policies.filter((c) => c.policy === 'trivial_augment_wide').flatMap((c) => c.applied)
    assert.equal(new Set(wide.map(([name]) => name)).size, 14)
    assert.ok(wide.some(([, m]) => m < 0) && wide.some(([, m]) => m > 0))
    const auto = fixture.policies.filter((c) => c.policy === 'auto_augment')
    for (const n of [0, 1, 2]) assert.ok(auto.some((c) => c.applied.length === n), `${n} ops applied`)
    assert.deepEqual(new Set(auto.map((c) => c.params.policy)), new Set(['imagenet', 'cifar10', 'svhn']))
  })

  it('the draws by hand: TrivialAugmentWide draws op, bin, sign (1 negates); RandAugment op, sign per op; AutoAugment sub-policy, two uniforms, two signs (0 negates)', () => {
    // Op 1 (ShearX) at bin 30 of 31 (0.99), sign 1: negative. Op 0 (Identity) draws nothing more.
    assert.deepEqual(policy('trivial_augment_wide').choose(9, uniforms([1.5 / 14, 30.5 / 31, 0.75])), [{name: 'ShearX', magnitude: -Math.fround(0.99)}])
    assert.deepEqual(policy('trivial_augment_wide').choose(9, uniforms([0.5 / 14])), [{name: 'Identity', magnitude: 0}])
    // Op 10 (Posterize) at bin 0: 8 bits, unsigned (no sign draw).
    assert.deepEqual(policy('trivial_augment_wide').choose(9, uniforms([10.5 / 14, 0.01])), [{name: 'Posterize', magnitude: 8}])
    // RandAugment: Rotate (5) at bin 9 of linspace(0, 30, 31) = 9°, sign 0; then Equalize (13), no sign.
    assert.deepEqual(policy('rand_augment').choose(9, uniforms([5.5 / 14, 0.25, 13.5 / 14])), [{name: 'Rotate', magnitude: 9}, {name: 'Equalize', magnitude: 0}])
    // AutoAugment ImageNet's pair 0: Posterize 0.4 at bin 8, Rotate 0.6 at bin 9 (30°): the first not applied (0.5 > 0.4), the second negated (sign 0).
    assert.deepEqual(policy('auto_augment').choose(9, uniforms([0.01, 0.5, 0.6, 0.7, 0.2])), [{name: 'Rotate', magnitude: -30}])
  })
})

describe('draw() and the uint8 round trip', () => {
  const VARIANTS: Array<[PolicyName, Record<string, unknown>]> = [
    ['trivial_augment_wide', {}],
    ['trivial_augment_wide', {num_magnitude_bins: 2, fill: [255, 128, 0]}],
    ['rand_augment', {}],
    ['rand_augment', {num_ops: 4, magnitude: 30, fill: 100}],
    ['rand_augment', {num_ops: 0}],
    ['auto_augment', {policy: 'imagenet'}],
    ['auto_augment', {policy: 'cifar10'}],
    ['auto_augment', {policy: 'svhn', fill: [0, 0, 255]}],
    ['trivial_augment_wide', {interpolation: 'bilinear', fill: [10.4, 127.5, 200.6]}],
    ['rand_augment', {num_ops: 3, interpolation: 'bilinear'}],
    ['auto_augment', {policy: 'svhn', interpolation: 'bilinear'}],
  ]
  it('draw() makes exactly the draws apply() and fromBytes() make, for sizes 3, 9 and 32 and 60 seeds', () => {
    for (const [type, params] of VARIANTS) {
      const step = policy(type, params)
      for (const S of [3, 9, 32]) {
        const src = Uint8Array.from({length: S * S * 3}, (_, i) => (i * 37) % 256)
        for (let seed = 0; seed < 60; seed++) {
          const after = (use: (rng: Rng) => void) => {
            const rng = new Rng(seed, S)
            use(rng)
            return rng.uint32()
          }
          const what = `${type} ${JSON.stringify(params)} size ${S} seed ${seed}`
          const drawn = after((rng) => step.draw!(S, rng))
          assert.equal(after((rng) => step.apply(Float32Array.from(src, (v) => v / 255), 0, S, rng)), drawn, `${what}: apply`)
          assert.equal(after((rng) => step.fromBytes!(src, 0, new Float32Array(S * S * 3), 0, S, rng)), drawn, `${what}: fromBytes`)
        }
      }
    }
  })

  it('apply() takes [0, 1] floats as uint8 (round(x·255), clamped) and writes k/255; it works on any image of a batch', () => {
    const S = 4
    const step = policy('rand_augment', {num_ops: 1})
    // Op 11 (Solarize) at bin 9 of linspace(255, 0, 31): threshold 178.5 — 200 becomes 55, 100 stays.
    const img = new Float32Array(2 * S * S * 3).fill(0.25)
    const second = img.subarray(S * S * 3)
    second.set([200 / 255 + 0.001, 100 / 255 - 0.001, 1.7, -0.3])
    step.apply(img, S * S * 3, S, uniforms([11.5 / 14]))
    assert.ok(img.subarray(0, S * S * 3).every((v) => v === 0.25), 'the first image is untouched')
    assert.deepEqual([...second.subarray(0, 4)], [55, 100, 0, 0].map((k) => Math.fround(k / 255)))
  })
})

describe('an image that no op changes is left exactly as it was (torchvision returns it unchanged)', () => {
  const S = 4
  const n = S * S * 3
  // Inside [0, 1] but off the 1/255 grid (as after color_jitter or a bilinear resize), 0 and 1 included.
  const offGrid = () => Float32Array.from({length: 2 * n}, (_, i) => (i === n ? 0 : i === n + 1 ? 1 : ((i * 0.61803) % 1) * 0.999 + 0.0004))
  const NO_OP: Array<[string, PolicyTransform, number[]]> = [
    ['rand_augment num_ops 0', policy('rand_augment', {num_ops: 0}), []],
    ['rand_augment drawing Identity twice', policy('rand_augment', {num_ops: 2}), [0.5 / 14, 0.2 / 14]],
    ['trivial_augment_wide drawing Identity', policy('trivial_augment_wide'), [0.5 / 14]],
    // ImageNet's pair 0 (Posterize 0.4, Rotate 0.6): uniforms 0.5 and 0.7 apply neither.
    ['auto_augment with neither op applied', policy('auto_augment'), [0.01, 0.5, 0.7, 0.3, 0.8]],
  ]

  it('apply() leaves a float image off the 1/255 grid bit for bit, and draws what draw() draws', () => {
    for (const [what, step, draws] of NO_OP) {
      const img = offGrid()
      const rng = uniforms(draws)
      assert.deepEqual(step.choose(S, uniforms(draws)).filter((op) => op.name !== 'Identity'), [], `${what}: no op`)
      step.apply(img, n, S, rng)
      assert.equal(rng.left(), 0, `${what}: every draw taken`)
      assert.deepEqual(img, offGrid(), what)
      assert.ok(img.subarray(n).some((v) => v !== Math.fround(Math.round(v * 255) / 255)), `${what}: the image is off the grid`)
    }
  })

  it('fromBytes() writes the stored bytes as k/255, as scaling them does', () => {
    const src = Uint8Array.from({length: n}, (_, i) => (i * 53) % 256)
    for (const [what, step, draws] of NO_OP) {
      const out = new Float32Array(n)
      step.fromBytes!(src, 0, out, 0, S, uniforms(draws))
      assert.deepEqual(out, Float32Array.from(src, (v) => v / 255), what)
    }
  })

  it('an op that applies still takes the image through uint8 (the documented rounding)', () => {
    // RandAugment, Identity then Solarize (11) at bin 9, threshold 178.5: the image is quantised, 200/255 + ε solarized.
    const img = offGrid()
    img[n] = 200 / 255 + 0.001
    policy('rand_augment', {num_ops: 2}).apply(img, n, S, uniforms([0.5 / 14, 11.5 / 14]))
    assert.equal(img[n], Math.fround(55 / 255))
    assert.ok(img.subarray(n).every((v) => v === Math.fround(Math.round(v * 255) / 255)), 'on the grid')
    assert.deepEqual(img.subarray(0, n), offGrid().subarray(0, n), 'the first image untouched')
  })
})

describe('the policies need [0, 1] pixels: after normalize (or a transform that says it leaves [0, 1]) the list is refused', () => {
  const norm = {type: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.1, 0.1, 0.1]}
  it('training pipelines name the misplaced item and say to move it; evaluation pipelines (normalize alone) build', () => {
    for (const type of ['trivial_augment_wide', 'rand_augment', 'auto_augment']) {
      const specs = [{type: 'hflip'}, norm, {type: 'color_jitter', brightness: 0.4}, {type}]
      assert.throws(
        () => buildPipeline(specs, 'train'),
        (error: Error) => error instanceof DataError && error.message === `data.augment[3] (${type}): ${type} works on pixel values in [0, 1] (it would clamp the rest away) and comes after normalize (data.augment[1]), whose output leaves that range; put ${type} before normalize.`,
        type,
      )
      const evalOnly = buildPipeline(specs, 'eval')
      assert.ok(evalOnly && evalOnly.names.join() === 'normalize', type)
    }
  })
  it('before normalize, and after transforms that keep [0, 1] off the 1/255 grid (color_jitter, bilinear rotation, random_erasing), they build', () => {
    const list = [{type: 'color_jitter', brightness: 0.4}, {type: 'random_rotation', degrees: 10, interpolation: 'bilinear'}, {type: 'random_erasing', p: 0.5}, 'trivial_augment_wide', {type: 'rand_augment', num_ops: 0}, 'auto_augment', norm]
    assert.deepEqual(pipelinesFromConfig(list as never).train && (pipelinesFromConfig(list as never).train as Pipeline).names.length, 7)
  })
  it('the flags: the policies need [0, 1]; normalize (applies always) leaves it, the other built-ins keep it', () => {
    for (const type of ['trivial_augment_wide', 'rand_augment', 'auto_augment']) assert.equal((lookup('transform', type) as TransformDef).needsUnitRange, true, type)
    for (const entry of allEntries(['transform']) as TransformDef[]) assert.equal(leavesUnitRange(entry), entry.name === 'normalize', entry.name)
    assert.deepEqual(unitRangeProblems(['normalize', 'hflip', 'rand_augment', undefined, 'nonesuch', 'auto_augment']).map((p) => p.index), [2, 5])
  })
})

describe('batches made by data workers equal the synchronous batches with the policies', () => {
  const PIPELINES = [
    ['trivial_augment_wide', 'hflip'],
    [{type: 'random_crop', padding: 2}, {type: 'rand_augment', num_ops: 3, magnitude: 15, fill: [255, 128, 0]}],
    [{type: 'auto_augment', policy: 'cifar10'}, {type: 'auto_augment', policy: 'svhn'}, {type: 'normalize', mean: 0.5, std: 0.25}],
    [{type: 'trivial_augment_wide', interpolation: 'bilinear', fill: 100}, {type: 'rand_augment', num_ops: 2, interpolation: 'bilinear'}],
  ]
  it('synthetic 12×12 images, 1 and 3 workers, two epochs', async () => {
    const data = await loadDataset({dataset: 'synthetic', image_size: 12, synthetic: {train: 90, test: 10, classes: 3}})
    const split: Split = data.train
    for (const list of PIPELINES) {
      const augment = augmentFromConfig({augment: list as never}) as Pipeline
      assert.equal(stayOnTrainingThread(augment), undefined, 'made by the workers')
      for (const workers of [1, 3]) {
        const pool = new BatchWorkers(workers, 2 * workers)
        try {
          for (const epoch of [1, 2]) {
            const opts: EpochBatchOptions = {batchSize: 32, imageSize: 12, shuffle: true, seed: 5, epoch, augment, what: 'the synthetic training split'}
            const expected = [...batches(split, {...opts, fresh: true})]
            const actual: Batch[] = []
            const it = pool.epoch(split, opts)
            for (let r = await it.next(); !r.done; r = await it.next()) actual.push({x: r.value.x.slice(), y: r.value.y.slice(), size: r.value.size})
            assert.equal(actual.length, expected.length)
            for (const [i, b] of actual.entries()) assert.deepEqual(b.x, expected[i].x, `${JSON.stringify(list)}, ${workers} workers, epoch ${epoch}, batch ${i}`)
          }
        } finally {
          await pool.close()
        }
      }
    }
  })
})

describe('the policies in specs', () => {
  const withAugment = (augment: unknown) => ({name: 't', data: {dataset: 'synthetic', image_size: 8, augment}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}})

  it("resolve with torchvision's defaults", () => {
    const spec = resolveObject(withAugment(['trivial_augment_wide', 'rand_augment', 'auto_augment']))
    assert.deepEqual(spec.data.augment, [
      {type: 'trivial_augment_wide', num_magnitude_bins: 31, fill: 0},
      {type: 'rand_augment', num_ops: 2, magnitude: 9, num_magnitude_bins: 31, fill: 0},
      {type: 'auto_augment', policy: 'imagenet', fill: 0},
    ])
  })
  it('take interpolation nearest or bilinear; left out it stays out of the resolved spec (its hash as before) and the warp is nearest', () => {
    const items = [{type: 'trivial_augment_wide', interpolation: 'bilinear'}, {type: 'rand_augment', interpolation: 'nearest'}, {type: 'auto_augment', interpolation: 'bilinear'}]
    const spec = resolveObject(withAugment(items))
    assert.deepEqual(spec.data.augment, [
      {type: 'trivial_augment_wide', num_magnitude_bins: 31, interpolation: 'bilinear', fill: 0},
      {type: 'rand_augment', num_ops: 2, magnitude: 9, num_magnitude_bins: 31, interpolation: 'nearest', fill: 0},
      {type: 'auto_augment', policy: 'imagenet', interpolation: 'bilinear', fill: 0},
    ])
    for (const type of ['trivial_augment_wide', 'rand_augment', 'auto_augment']) {
      assert.throws(() => resolveObject(withAugment([{type, interpolation: 'bicubic'}])), /data\.augment\[0\]\.interpolation/, type)
      // Left out, explicit nearest and bilinear on the same draws: the first two alike, bilinear not (ShearX 0.99 of TrivialAugmentWide).
      const src = Uint8Array.from({length: 9 * 9 * 3}, (_, i) => (i * 37) % 256)
      const run = (params: Record<string, unknown>) => {
        const out = new Float32Array(src.length)
        const draws = type === 'trivial_augment_wide' ? [1.5 / 14, 30.5 / 31, 0.25] : type === 'rand_augment' ? [1.5 / 14, 0.25, 1.5 / 14, 0.75] : [18.5 / 25, 0.1, 0.1, 0.9, 0.9]
        policy(type as PolicyName, params).fromBytes!(src, 0, out, 0, 9, uniforms(draws))
        return out
      }
      assert.deepEqual(run({}), run({interpolation: 'nearest'}), `${type}: left out is nearest`)
      assert.notDeepEqual(run({interpolation: 'bilinear'}), run({}), `${type}: bilinear`)
    }
  })
  it('refuse a bad num_ops, a magnitude outside the bins, fewer than 2 bins, an unknown policy and a fill of two values, naming the item', () => {
    const refused: Array<[unknown, RegExp]> = [
      [{type: 'rand_augment', num_ops: -1}, /data\.augment\[0\]\.num_ops/],
      [{type: 'rand_augment', num_ops: 1.5}, /data\.augment\[0\]\.num_ops/],
      [{type: 'rand_augment', magnitude: 31}, /data\.augment\[0\].*rand_augment\.magnitude 31 is not one of the 31 magnitude bins \(0 to 30\)/],
      [{type: 'rand_augment', magnitude: 5, num_magnitude_bins: 5}, /magnitude 5 is not one of the 5 magnitude bins \(0 to 4\); lower it or raise num_magnitude_bins/],
      [{type: 'rand_augment', magnitude: -1}, /data\.augment\[0\]\.magnitude/],
      [{type: 'trivial_augment_wide', num_magnitude_bins: 1}, /data\.augment\[0\]\.num_magnitude_bins/],
      [{type: 'auto_augment', policy: 'mnist'}, /data\.augment\[0\]\.policy/],
      [{type: 'trivial_augment_wide', fill: [1, 2]}, /data\.augment\[0\]\.fill/],
    ]
    for (const [item, message] of refused) assert.throws(() => resolveObject(withAugment([item])), message, JSON.stringify(item))
    assert.doesNotThrow(() => resolveObject(withAugment([{type: 'rand_augment', magnitude: 4, num_magnitude_bins: 5}])))
  })
})
