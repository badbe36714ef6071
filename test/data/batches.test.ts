import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {batches, DEFAULT_AUGMENT, numBatches, type Batch, type Split} from '../../src/data/index.js'
import {deriveSeed, Rng} from '../../src/data/random.js'
import '../../src/builtins.js'

/** count images of S×S×3 whose first byte is the example index; label = index % 7. */
function indexedSplit(count: number, size: number): Split {
  const px = size * size * 3
  const images = new Uint8Array(count * px)
  const rng = new Rng(1)
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    images[i * px] = i
    labels[i] = i % 7
  }
  return {images, labels, count}
}

function collect(it: Iterable<Batch>): Array<{x: Float32Array; y: Int32Array; size: number}> {
  return [...(function* () {
    for (const b of it) yield {x: b.x.slice(), y: b.y.slice(), size: b.size}
  })()]
}

function ids(bs: Array<{x: Float32Array; size: number}>, px: number): number[] {
  return bs.flatMap((b) => Array.from({length: b.size}, (_, k) => Math.round(b.x[k * px] * 255)))
}

describe('batches', () => {
  const S = 4
  const px = S * S * 3
  const split = indexedSplit(10, S)

  it('keeps the last partial batch (drop_last false) and counts batches', () => {
    assert.equal(numBatches(10, 4), 3)
    assert.equal(numBatches(8, 4), 2)
    assert.equal(numBatches(0, 4), 0)
    const bs = collect(batches(split, {batchSize: 4, imageSize: S, shuffle: false, seed: 0, epoch: 0}))
    assert.deepEqual(bs.map((b) => b.size), [4, 4, 2])
    assert.deepEqual(bs.map((b) => b.x.length), [4 * px, 4 * px, 2 * px])
    assert.deepEqual(ids(bs, px), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.deepEqual([...bs[2].y], [8 % 7, 9 % 7])
    // without augmentation pixels are exactly uint8 / 255
    for (let i = 0; i < px; i++) assert.equal(bs[1].x[px + i], Math.fround(split.images[5 * px + i] / 255))
  })

  it('shuffles with (seed, epoch): same arguments → identical batches, another epoch → another order', () => {
    const augOpts = {batchSize: 3, imageSize: S, shuffle: true, seed: 42, epoch: 1, augment: DEFAULT_AUGMENT}
    const again = batches(split, augOpts)
    const first = collect(again)
    assert.deepEqual(collect(batches(split, augOpts)), first)
    assert.deepEqual(collect(again), first)
    assert.notDeepEqual(collect(batches(split, {...augOpts, epoch: 2})), first)
    // orders, read from the (unaugmented) first byte of each image
    const opts = {...augOpts, augment: false as const}
    const a = collect(batches(split, opts))
    assert.deepEqual(a.map((x) => [...x.y]), first.map((x) => [...x.y]), 'augmentation does not change the order')
    const order1 = ids(a, px)
    assert.deepEqual([...order1].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every example exactly once')
    assert.notDeepEqual(order1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    const order2 = ids(collect(batches(split, {...opts, epoch: 2})), px)
    assert.notDeepEqual(order2, order1)
    const other = ids(collect(batches(split, {...opts, seed: 43})), px)
    assert.notDeepEqual(other, order1)
    for (const bt of a) for (let k = 0; k < bt.size; k++) assert.equal(bt.y[k], ids([{x: bt.x.subarray(k * px), size: 1}], px)[0] % 7)
  })

  it('augments training batches (values in [0, 1], different from the plain pixels)', () => {
    const plain = collect(batches(split, {batchSize: 10, imageSize: S, shuffle: false, seed: 5, epoch: 0}))[0]
    const aug = collect(batches(split, {batchSize: 10, imageSize: S, shuffle: false, seed: 5, epoch: 0, augment: DEFAULT_AUGMENT}))[0]
    assert.ok(aug.x.every((v) => v >= 0 && v <= 1))
    assert.notDeepEqual(aug.x, plain.x)
    assert.deepEqual(aug.y, plain.y)
  })

  it('reuses one buffer between yields unless fresh is set', () => {
    const xs = [...batches(split, {batchSize: 4, imageSize: S, shuffle: false, seed: 0, epoch: 0})].map((b) => b.x.buffer)
    assert.equal(new Set(xs).size, 1)
    const fresh = [...batches(split, {batchSize: 4, imageSize: S, shuffle: false, seed: 0, epoch: 0, fresh: true})]
    assert.equal(new Set(fresh.map((b) => b.x.buffer)).size, 3)
    assert.deepEqual(ids(fresh, px), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('rejects an image size that does not match the split', () => {
    assert.throws(() => batches(split, {batchSize: 4, imageSize: 8, shuffle: false, seed: 0, epoch: 0}), /does not hold 10 images of 8×8×3/)
  })

  it('derives distinct seeds and a pinned, uniform stream', () => {
    assert.notEqual(deriveSeed(42, 0), deriveSeed(42, 1))
    assert.notEqual(deriveSeed(42, 1), deriveSeed(43, 1))
    assert.equal(deriveSeed(42, 1), deriveSeed(42, 1))
    // pinned stream: changing the generator changes every shuffle and augmentation of past runs
    const r = new Rng(42)
    assert.deepEqual([r.uint32(), r.uint32(), r.uint32()], [454542384, 165595740, 3139045656])
    assert.equal(new Rng(42, 1).uint32(), 1358644034)
    let mean = 0
    for (let i = 0; i < 10000; i++) mean += r.float() / 10000
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`)
  })
})
