import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {join} from 'node:path'

import {augmentImage, identityJitter, sampleJitter, type AugmentParams} from '../../src/data/augment.js'
import {augmentFromConfig, batches, DataError, DEFAULT_AUGMENT, epochOrder, pipelinesFromConfig, type Batch, type Split} from '../../src/data/index.js'
import {Rng} from '../../src/data/random.js'
import {allEntries, lookup, type RandomSource, type TransformDef} from '../../src/registry/registry.js'
import '../../src/builtins.js'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {REPO, resolveObject} from '../helpers.js'
import {uniforms} from './helpers.js'

const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'transforms', 'transforms.json'), 'utf8')) as {
  size: number
  image: number[]
  single: Record<string, {factor: number; out: number[]}>
  jitter: Array<{order: number[]; out: number[]}>
  padding: number
  crops: Array<{mode: string; top: number; left: number; out: number[]}>
  normalize: {mean: number[]; std: number[]; out: number[]}
  geometric: {
    size: number
    image: number[]
    image8: number[]
    resized_crops: Array<{top: number; left: number; h: number; w: number; interpolation: string; uniforms: number[]; out: number[]}>
    vflip: number[]
    rotations: Array<{size: number; angle: number; interpolation: string; fill: number[]; out: number[]}>
    grayscale: number[]
    draws: {
      resized_crop: Array<{size: number; scale: number[]; ratio: number[]; uniforms: number[]; box: number[]}>
      rotation: Array<{degrees: number | number[]; interpolation: string; fill: number[]; uniforms: number[]; angle: number; out: number[]}>
    }
  }
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, eps: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`)
}

/** A generator that returns scripted draws: `ints` for int(n), `floats` for float(). */
function scripted(ints: number[], floats: number[] = []): RandomSource {
  return {
    int: (n) => {
      const v = ints.shift()
      assert.ok(v !== undefined && v < n, `int(${n}) drew ${v}`)
      return v
    },
    float: () => {
      const v = floats.shift()
      assert.ok(v !== undefined, 'float() drawn once too often')
      return v
    },
  }
}

function transform(name: string, params: Record<string, unknown> = {}) {
  const entry = lookup('transform', name) as TransformDef
  const built = pipelinesFromConfig([{type: name, ...params}]).train
  assert.ok(built && entry)
  return built.steps[0]
}

function image(): Float32Array {
  return Float32Array.from(fixture.image)
}

/** count images of S×S×3 with seeded random bytes. */
function randomSplit(count: number, size: number, seed = 1): Split {
  const rng = new Rng(seed)
  const images = Uint8Array.from({length: count * size * size * 3}, () => rng.int(256))
  return {images, labels: Uint8Array.from({length: count}, (_, i) => i % 3), count}
}

/** Copies of every batch's pixels (batches reuse one buffer, so copy while iterating). */
function collect(it: Iterable<Batch>): Float32Array[] {
  const out: Float32Array[] = []
  for (const b of it) out.push(b.x.slice())
  return out
}

describe('the paper augmentation keeps its batches', () => {
  const split = randomSplit(20, 5)
  const opts = {batchSize: 8, imageSize: 5, shuffle: true, seed: 42, epoch: 3}
  /** The loop batches() ran before transforms were registry entries: four draws, then the fused flip + jitter. */
  function reference(p: AugmentParams): Float32Array[] {
    const px = 75
    const order = epochOrder(20, true, opts.seed, opts.epoch)
    const rng = new Rng(opts.seed, opts.epoch, 2)
    const j = identityJitter()
    const out = new Float32Array(20 * px)
    order.forEach((idx, n) => {
      sampleJitter(rng, p, j)
      augmentImage(split.images, idx * px, out, n * px, 5, j)
    })
    return [out.slice(0, 8 * px), out.slice(8 * px, 16 * px), out.slice(16 * px)]
  }

  for (const p of [DEFAULT_AUGMENT, {hflip: false, brightness: 0.5, hue: 0.25}, {hflip: true, brightness: 0, hue: 0.1}, {hflip: true, brightness: 0.3, hue: 0}]) {
    it(`bit-identical for ${JSON.stringify(p)}: parameters object, shorthand spec, and paper_augment in a list`, () => {
      const expected = reference(p)
      assert.deepEqual(collect(batches(split, {...opts, augment: p})), expected)
      const shorthand = augmentFromConfig({augment: p})
      assert.ok(shorthand)
      assert.deepEqual(collect(batches(split, {...opts, augment: shorthand})), expected)
      const listed = augmentFromConfig({augment: [{type: 'paper_augment', ...p}]})
      assert.ok(listed)
      assert.deepEqual(collect(batches(split, {...opts, augment: listed})), expected)
    })
  }

  it('the default (no augment key) is the paper augmentation', () => {
    const expected = reference(DEFAULT_AUGMENT)
    const dflt = augmentFromConfig({})
    assert.ok(dflt)
    assert.deepEqual(dflt.names, ['paper_augment'])
    assert.deepEqual(collect(batches(split, {...opts, augment: dflt})), expected)
  })

  it('later in a list it applies the same draws to the floats (torchvision hue formulas)', () => {
    const first = augmentFromConfig({augment: ['paper_augment']})
    const second = augmentFromConfig({augment: [{type: 'hflip', p: 0}, 'paper_augment']})
    assert.ok(first && second)
    // hflip with p 0 draws once per image, so compare against a generator that skips that draw.
    const a = collect(batches(split, {...opts, augment: first}))
    const b = collect(batches(split, {...opts, augment: second}))
    assert.notDeepEqual(a, b, 'the extra draw shifts the stream')
    const one = new Float32Array(75)
    const two = new Float32Array(75)
    const img = split.images.subarray(0, 75)
    first.steps[0].fromBytes!(img, 0, one, 0, 5, new Rng(9))
    for (let i = 0; i < 75; i++) two[i] = img[i] / 255
    first.steps[0].apply(two, 0, 5, new Rng(9))
    close(two, one, 1e-6, 'float path vs byte path')
  })
})

describe('torchvision parity (test/fixtures/transforms, torchvision tensor ops)', () => {
  const S = fixture.size
  const names = ['brightness', 'contrast', 'saturation', 'hue'] as const
  it('color_jitter: each adjustment alone', () => {
    for (const name of names) {
      const f = fixture.single[name].factor
      const img = image()
      // A [f, f] range draws exactly f; the permutation draws (3) come first, then one draw per adjustment.
      transform('color_jitter', {[name]: [f, f]}).apply(img, 0, S, scripted([3, 2, 1], [0.5]))
      close(img, fixture.single[name].out, 2e-6, name)
    }
  })
  it('color_jitter: all four in the drawn order (ColorJitter.get_params: randperm(4), then b, c, s, h)', () => {
    const params = Object.fromEntries(names.map((n) => [n, [fixture.single[n].factor, fixture.single[n].factor]]))
    for (const {order, out} of fixture.jitter) {
      // Fisher–Yates from the end: the draw at step i picks which element goes to position i.
      const perm = [0, 1, 2, 3]
      const ints: number[] = []
      for (let i = 3; i > 0; i--) {
        const k = perm.indexOf(order[i])
        ints.push(k)
        ;[perm[i], perm[k]] = [perm[k], perm[i]]
      }
      assert.deepEqual(perm, order)
      const img = image()
      transform('color_jitter', params).apply(img, 0, S, scripted(ints, [0.1, 0.2, 0.3, 0.4]))
      close(img, out, 2e-6, `order ${order}`)
    }
  })
  it('random_crop: padding modes and offsets (F.pad + crop)', () => {
    for (const c of fixture.crops) {
      const img = image()
      transform('random_crop', {padding: fixture.padding, padding_mode: c.mode}).apply(img, 0, S, scripted([c.top, c.left]))
      close(img, c.out, 1e-7, `${c.mode} at ${c.top},${c.left}`)
    }
  })
  it('normalize', () => {
    const img = image()
    transform('normalize', {mean: fixture.normalize.mean, std: fixture.normalize.std}).apply(img, 0, S, scripted([]))
    close(img, fixture.normalize.out, 2e-6, 'normalize')
  })

  // The geometric fixtures: a 9×9 and an 8×8 image whose values are exact in float32 and in the JSON.
  const G = fixture.geometric
  it('random_resized_crop: F.resized_crop of the box drawn (after an attempt that cannot fit), bilinear and nearest, square and not', () => {
    assert.ok(G.resized_crops.some((c) => c.h !== c.w) && G.resized_crops.some((c) => c.w === G.size && c.h < G.size))
    for (const c of G.resized_crops) {
      const img = Float32Array.from(G.image)
      const rng = uniforms(c.uniforms)
      transform('random_resized_crop', {interpolation: c.interpolation}).apply(img, 0, G.size, rng)
      assert.equal(rng.left(), 0, 'draws left over')
      close(img, c.out, 2e-6, `${c.interpolation} crop ${c.h}×${c.w} at ${c.top},${c.left}`)
    }
  })
  it('vflip: F.vflip', () => {
    const img = Float32Array.from(G.image)
    transform('vflip').apply(img, 0, G.size, scripted([], [0.49]))
    close(img, G.vflip, 1e-7, 'vflip')
  })
  it('random_rotation: F.rotate at fixed angles (multiples of 90 and not), nearest and bilinear, with a fill, on 9×9 and 8×8', () => {
    assert.ok(G.rotations.some((r) => r.angle % 90 !== 0 && r.interpolation === 'nearest' && r.fill.some((v) => v !== 0)))
    for (const r of G.rotations) {
      const img = Float32Array.from(r.size === 9 ? G.image : G.image8)
      // degrees [a, a] draws exactly a.
      transform('random_rotation', {degrees: [r.angle, r.angle], interpolation: r.interpolation, fill: r.fill.length === 1 ? r.fill[0] : r.fill}).apply(img, 0, r.size, scripted([], [0.37]))
      close(img, r.out, 2e-6, `${r.interpolation} ${r.angle}° on ${r.size}×${r.size}`)
    }
  })
  it('random_rotation: RandomRotation on a scripted draw (get_params, then F.rotate)', () => {
    for (const r of G.draws.rotation) {
      const img = Float32Array.from(G.image)
      const rng = uniforms(r.uniforms)
      transform('random_rotation', {degrees: r.degrees, interpolation: r.interpolation, fill: r.fill}).apply(img, 0, G.size, rng)
      assert.equal(rng.left(), 0)
      close(img, r.out, 2e-6, `degrees ${JSON.stringify(r.degrees)} → ${r.angle}°`)
    }
  })
  it('random_grayscale: F.rgb_to_grayscale(num_output_channels=3)', () => {
    const img = Float32Array.from(G.image)
    transform('random_grayscale', {p: 0.5}).apply(img, 0, G.size, scripted([], [0.49]))
    close(img, G.grayscale, 2e-6, 'grayscale')
  })
})

describe("draws as torchvision's get_params makes them (its own code on scripted uniforms, test/fixtures/transforms)", () => {
  /** A size×size image whose pixel (y, x) is (y/64, x/64, ½): a nearest-resized crop shows the box it came from. */
  const coordinates = (size: number) => Float32Array.from({length: size * size * 3}, (_, i) => [Math.floor(i / 3 / size) / 64, ((i / 3) | 0) % size / 64, 0.5][i % 3])

  it('random_resized_crop: the box and the number of draws, for seeded streams, retries, and each fallback after 10 failed attempts', () => {
    const cases = fixture.geometric.draws.resized_crop
    assert.ok(cases.filter((c) => c.uniforms.length === 20).length >= 4, 'fallback cases')
    assert.ok(cases.some((c) => c.uniforms.length > 4 && c.uniforms.length < 20), 'accepted after a retry')
    for (const c of cases) {
      const what = `size ${c.size} scale ${c.scale} ratio ${c.ratio.map((v) => v.toFixed(3))}, ${c.uniforms.length} draws`
      const step = transform('random_resized_crop', {scale: c.scale, ratio: c.ratio, interpolation: 'nearest'})
      const img = coordinates(c.size)
      const rng = uniforms(c.uniforms)
      step.apply(img, 0, c.size, rng)
      assert.equal(rng.left(), 0, `${what}: drew fewer numbers than torchvision`)
      const at = (y: number, x: number) => [Math.round(img[(y * c.size + x) * 3] * 64), Math.round(img[(y * c.size + x) * 3 + 1] * 64)]
      const [top, left] = at(0, 0)
      const [bottom, right] = at(c.size - 1, c.size - 1)
      assert.deepEqual([top, left, bottom - top + 1, right - left + 1], c.box, `${what}: box (top, left, h, w)`)
      const counted = uniforms(c.uniforms)
      step.draw!(c.size, counted)
      assert.equal(counted.left(), 0, `${what}: draw()`)
    }
  })

  it('vflip, random_grayscale: one draw per image, applied when it is below p (torch.rand(1) < p)', () => {
    const base = Float32Array.from(fixture.geometric.image)
    for (const [name, expected] of [['vflip', fixture.geometric.vflip], ['random_grayscale', fixture.geometric.grayscale]] as const) {
      for (const [u, applied] of [[0.2999, true], [0.3, false], [0.9, false]] as const) {
        const img = base.slice()
        transform(name, {p: 0.3}).apply(img, 0, fixture.geometric.size, scripted([], [u]))
        close(img, applied ? expected : base, 2e-6, `${name} at ${u}`)
      }
    }
  })
})

describe('transform semantics', () => {
  it('hflip flips with probability p, one draw per image', () => {
    const img = Float32Array.from({length: 12}, (_, i) => i) // 2×2: a b / c d
    transform('hflip', {p: 0.5}).apply(img, 0, 2, scripted([], [0.2]))
    assert.deepEqual([...img], [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8])
    transform('hflip', {p: 0.5}).apply(img, 0, 2, scripted([], [0.7]))
    assert.deepEqual([...img], [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8])
  })
  it('random_crop fills with the fill value (pixel units) and works on any image of the batch', () => {
    const img = new Float32Array(2 * 12).fill(0.5)
    transform('random_crop', {padding: 1, fill: [255, 0, 51]}).apply(img, 12, 2, scripted([0, 0]))
    assert.deepEqual([...img.subarray(0, 12)], Array(12).fill(0.5), 'the first image is untouched')
    assert.deepEqual([...img.subarray(12, 15)], [1, 0, 0.2].map(Math.fround))
    assert.deepEqual([...img.subarray(21, 24)], [0.5, 0.5, 0.5], 'the bottom-right pixel is the original top-left')
  })
  it('random_rotation: a number d draws from [-d, d]; a rotation by 90° moves every pixel (nearest, no fill needed)', () => {
    const S = 4
    const src = Float32Array.from({length: S * S * 3}, (_, i) => i)
    const rotated = (params: Record<string, unknown>, u: number) => {
      const img = src.slice()
      transform('random_rotation', params).apply(img, 0, S, scripted([], [u]))
      return img
    }
    assert.deepEqual(rotated({degrees: 90}, 0), rotated({degrees: [-90, -90]}, 0.5))
    assert.deepEqual(rotated({degrees: 90}, 0.75), rotated({degrees: [45, 45]}, 0.5))
    // Counter-clockwise: the top row's first pixel goes to the bottom-left corner.
    const ccw = rotated({degrees: [90, 90]}, 0)
    assert.deepEqual([...ccw.subarray(((S - 1) * S) * 3, ((S - 1) * S) * 3 + 3)], [0, 1, 2])
    assert.deepEqual([...ccw].sort((a, b) => a - b), [...src], 'a permutation of the pixels')
  })
  it('random_resized_crop keeps the size and the other images of the batch; a full-size crop leaves the image as it is', () => {
    const img = Float32Array.from({length: 2 * 27}, (_, i) => i / 54)
    const before = img.slice()
    transform('random_resized_crop', {scale: [1, 1], ratio: [1, 1]}).apply(img, 27, 3, scripted([0, 0], [0.5, 0.5]))
    assert.deepEqual(img, before)
    transform('random_resized_crop', {scale: [1 / 9, 1 / 9], ratio: [1, 1]}).apply(img, 27, 3, scripted([2, 1], [0.5, 0.5]))
    assert.deepEqual(img.subarray(0, 27), before.subarray(0, 27), 'the first image is untouched')
    assert.deepEqual([...img.subarray(27)], Array.from({length: 27}, (_, i) => before[27 + (2 * 3 + 1) * 3 + (i % 3)]), 'a 1×1 crop at (2, 1) fills the image')
  })
  it('random_erasing erases one rectangle within the scale bounds, with p', () => {
    const S = 16
    const rng = new Rng(5)
    let erased = 0
    for (let n = 0; n < 200; n++) {
      const img = new Float32Array(S * S * 3).fill(0.5)
      transform('random_erasing', {p: 0.5, value: [0.1, 0.2, 0.3]}).apply(img, 0, S, rng)
      const hit = [...Array(S * S).keys()].filter((i) => img[i * 3] !== 0.5)
      if (hit.length === 0) continue
      erased++
      const ys = hit.map((i) => Math.floor(i / S))
      const xs = hit.map((i) => i % S)
      const h = Math.max(...ys) - Math.min(...ys) + 1
      const w = Math.max(...xs) - Math.min(...xs) + 1
      assert.equal(hit.length, h * w, 'a full rectangle')
      assert.ok(hit.length <= 0.33 * S * S + 2 * S && hit.length >= 1, `area ${hit.length}`)
      assert.ok(hit.every((i) => img[i * 3] === Math.fround(0.1) && img[i * 3 + 2] === Math.fround(0.3)))
    }
    assert.ok(erased > 70 && erased < 130, `erased ${erased} of 200 with p 0.5`)
    const noisy = new Float32Array(S * S * 3).fill(0.5)
    transform('random_erasing', {p: 1, value: 'random'}).apply(noisy, 0, S, new Rng(1))
    assert.ok(noisy.some((v) => v < 0) && noisy.some((v) => v > 1), 'standard normal noise')
  })
})

/** Parameters that take other paths through the draws (noise, retries, the fallback crops, rotation ranges). */
const MORE_VARIANTS: Record<string, Record<string, unknown>[]> = {
  random_erasing: [{p: 1, value: 'random'}, {p: 1, scale: [0.9, 1]}],
  random_resized_crop: [{ratio: [10, 20]}, {scale: [0.9, 1], ratio: [0.25, 4]}, {scale: [0.5, 1], ratio: [0.5, 2], interpolation: 'nearest'}],
  random_rotation: [{degrees: [-90, 45], interpolation: 'bilinear', fill: [255, 0, 51]}],
}

describe('every registered transform', () => {
  for (const entry of allEntries(['transform']) as TransformDef[]) {
    it(`${entry.name}: keeps the shape, finite values, same seed → same image`, () => {
      const params = {...(entry.tiny ?? {})}
      const pipe = pipelinesFromConfig([{type: entry.name, ...params}])
      const t = pipe.train && pipe.train.steps[0]
      assert.ok(t)
      assert.equal(Boolean(pipe.eval), entry.applies === 'always', 'eval batches get exactly the transforms that apply always')
      const S = 8
      const src = randomSplit(1, S, 3).images
      const run = (seed: number) => {
        const out = Float32Array.from(src, (v) => v / 255)
        t.apply(out, 0, S, new Rng(seed))
        return out
      }
      const a = run(7)
      assert.equal(a.length, S * S * 3)
      assert.ok(a.every(Number.isFinite))
      assert.deepEqual(run(7), a)
      if (entry.applies === 'train') assert.ok([8, 9, 10, 11, 12].some((s) => run(s).some((v, i) => v !== a[i])), 'other seeds give other images')
    })

    it(`${entry.name}: draw() makes exactly the draws apply() and fromBytes() make (data workers replay them)`, () => {
      const variants = [entry.tiny ?? {}, ...(MORE_VARIANTS[entry.name] ?? [])]
      for (const params of variants) {
        const t = pipelinesFromConfig([{type: entry.name, ...params}]).train || pipelinesFromConfig([{type: entry.name, ...params}]).eval
        assert.ok(t)
        const step = t.steps[0]
        assert.ok(step.draw, `${entry.name} has a draw()`)
        for (const S of [3, 8]) {
          const src = randomSplit(1, S, 3).images
          for (let seed = 0; seed < 40; seed++) {
            const after = (use: (rng: Rng) => void) => {
              const rng = new Rng(seed, S)
              use(rng)
              return rng.uint32()
            }
            const drawn = after((rng) => step.draw!(S, rng))
            assert.equal(after((rng) => step.apply(Float32Array.from(src, (v) => v / 255), 0, S, rng)), drawn, `${entry.name} ${JSON.stringify(params)} size ${S} seed ${seed}: apply`)
            if (step.fromBytes) assert.equal(after((rng) => step.fromBytes!(src, 0, new Float32Array(S * S * 3), 0, S, rng)), drawn, `fromBytes, seed ${seed}`)
          }
        }
      }
    })
  }
})

describe('augment lists in specs', () => {
  const base = {name: 't', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}}
  const withAugment = (augment: unknown) => ({...base, data: {...base.data, augment}})

  it('resolve with defaults filled; strings name transforms with their defaults', () => {
    const spec = resolveObject(withAugment(['hflip', {type: 'random_crop', padding: 2}, {type: 'normalize', mean: 0.5, std: [0.2, 0.3, 0.4]}]))
    assert.deepEqual(spec.data.augment, [
      {type: 'hflip', p: 0.5},
      {type: 'random_crop', padding: 2, padding_mode: 'constant', fill: 0},
      {type: 'normalize', mean: 0.5, std: [0.2, 0.3, 0.4]},
    ])
  })
  it('the geometric transforms and random_grayscale resolve with their defaults (torchvision\'s); random_rotation needs degrees', () => {
    const spec = resolveObject(withAugment(['vflip', 'random_resized_crop', {type: 'random_rotation', degrees: 15}, 'random_grayscale']))
    assert.deepEqual(spec.data.augment, [
      {type: 'vflip', p: 0.5},
      {type: 'random_resized_crop', scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bilinear'},
      {type: 'random_rotation', degrees: 15, interpolation: 'nearest', fill: 0},
      {type: 'random_grayscale', p: 0.1},
    ])
    assert.throws(() => resolveObject(withAugment(['random_rotation'])), /data\.augment\[0\]\.degrees: required key is missing/)
    assert.throws(() => resolveObject(withAugment([{type: 'random_rotation', degrees: -5}])), /data\.augment\[0\]\.degrees/)
    assert.throws(() => resolveObject(withAugment([{type: 'random_rotation', degrees: [10, -10]}])), /data\.augment\[0\].*min ≤ max/)
    assert.throws(() => resolveObject(withAugment([{type: 'random_resized_crop', scale: [0.9, 0.1]}])), /data\.augment\[0\].*min ≤ max/)
    assert.throws(() => resolveObject(withAugment([{type: 'random_resized_crop', interpolation: 'bicubic'}])), /data\.augment\[0\]\.interpolation/)
  })
  it('unknown names and bad parameters are spec errors with the item, a suggestion and the line', () => {
    assert.throws(() => resolveObject(withAugment(['hflip', 'random_crp'])), (e: Error) => /data\.augment\[1\]\.type: unknown transform "random_crp", did you mean random_crop\?/.test(e.message) && /spec\.yaml:\d+/.test(e.message))
    assert.throws(() => resolveObject(withAugment([{type: 'color_jitter', hue: 0.7}])), /data\.augment\[0\]\.hue/)
    assert.throws(() => resolveObject(withAugment([{type: 'random_crop', pading: 4}])), /data\.augment\[0\]\.pading: unknown key, did you mean padding\?/)
    assert.throws(() => resolveObject(withAugment([{type: 'normalize', mean: [0.5, 0.5], std: 0.2}])), /data\.augment\[0\].*one value or three/)
    assert.throws(() => resolveObject(withAugment([{type: 'normalize', mean: 0.5}])), /data\.augment\[0\]\.std: required key is missing/)
    // 1e-300 passes the schema's > 0, but float32 pixels divided by it are infinite: training would only say the loss became NaN.
    assert.throws(() => resolveObject(withAugment([{type: 'normalize', mean: 0.5, std: 1e-300}])), /data\.augment\[0\]: normalize with mean 0\.5 and std 1e-300 sends \[0, 1\] pixels past float32's range/)
    assert.throws(() => resolveObject(withAugment([{type: 'normalize', mean: [0.5, 0.5, 1e39], std: [0.2, 0.2, 0.2]}])), /mean 1e\+39 and std 0\.2 sends/)
    assert.doesNotThrow(() => resolveObject(withAugment([{type: 'normalize', mean: 0.5, std: 1e-6}])))
  })
  it('the example specs: crop + flip + normalise on a paper model; the paper specs keep the shorthand', () => {
    const example = validateSpec(loadSpec(join(REPO, 'configs', 'examples', 'cifar10-crop-flip-normalize.yaml')))
    const p = pipelinesFromConfig(example.data.augment as never)
    assert.deepEqual(p.train && p.train.names, ['random_crop', 'hflip', 'normalize'])
    assert.deepEqual(p.eval && p.eval.names, ['normalize'])
    const paper = validateSpec(loadSpec(join(REPO, 'configs', 'paper', 'cifar10', 'alternating-1block.yaml')))
    assert.deepEqual(paper.data.augment, {hflip: true, brightness: 0.5, hue: 0.25})
    assert.deepEqual(pipelinesFromConfig(paper.data.augment as never).eval, false)
  })
  it('the loader refuses the same mistakes in code', () => {
    assert.throws(() => augmentFromConfig({augment: ['flipp']}), (e: unknown) => e instanceof DataError && /unknown transform "flipp"/.test(e.message))
    assert.throws(() => augmentFromConfig({augment: [{type: 'hflip', p: 2}]}), (e: unknown) => e instanceof DataError && /data\.augment\[0\] \(hflip\): p must be <= 1/.test(e.message))
  })
})
