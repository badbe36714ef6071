// The validation split data.val_split holds out of the training images: stratified exactly per class,
// drawn by the run's seed, disjoint from what is trained on, and the images it names.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {holdOutValidation, stratifiedHoldOut, validationIndices} from '../../src/data/split.js'
import {Rng} from '../../src/data/random.js'
import type {Split} from '../../src/data/batches.js'

/** A training split whose class `c` has `counts[c]` examples, interleaved; every image's pixels name its index. */
function split(counts: number[], px = 3): Split {
  const labels: number[] = []
  for (let round = 0; labels.length < counts.reduce((a, b) => a + b, 0); round++) {
    counts.forEach((n, c) => {
      if (round < n) labels.push(c)
    })
  }
  const images = new Uint8Array(labels.length * px)
  labels.forEach((_, i) => images.fill(i % 256, i * px, (i + 1) * px))
  return {images, labels: Uint8Array.from(labels), count: labels.length}
}

const perClass = (labels: ArrayLike<number>, indices: Int32Array, classes: number) => Array.from({length: classes}, (_, c) => [...indices].filter((i) => labels[i] === c).length)

describe('validation split', () => {
  const counts = [50, 31, 7, 2, 1]
  const train = split(counts)

  it('holds out round(n × fraction) of every class, keeping at least one example of each', () => {
    const {train: kept, val} = validationIndices(train, 0.2, 42)
    // 50 × 0.2 = 10, 31 × 0.2 = 6.2, 7 × 0.2 = 1.4, 2 × 0.2 = 0.4, and a class of one keeps its one
    assert.deepEqual(perClass(train.labels, val, 5), [10, 6, 1, 0, 0])
    assert.deepEqual(perClass(train.labels, kept, 5), [40, 25, 6, 2, 1])
    assert.deepEqual(perClass(train.labels, validationIndices(train, 0.5, 42).val, 5), [25, 16, 4, 1, 0])
    const even = split([10, 10])
    assert.deepEqual(perClass(even.labels, validationIndices(even, 0.1, 7).val, 2), [1, 1])
  })

  it('is disjoint from the images trained on, and together they are all of them, each part in order', () => {
    const {train: kept, val} = validationIndices(train, 0.25, 1)
    assert.equal(kept.length + val.length, train.count)
    assert.deepEqual([...kept, ...val].sort((a, b) => a - b), Array.from({length: train.count}, (_, i) => i))
    assert.equal(new Set([...kept, ...val]).size, train.count)
    for (const part of [kept, val]) assert.ok(part.every((v, i) => i === 0 || v > part[i - 1]), 'ascending')
  })

  it('is drawn by the seed: the same seed gives the same images, another seed others', () => {
    const a = validationIndices(train, 0.2, 42)
    assert.deepEqual(validationIndices(train, 0.2, 42), a)
    const b = validationIndices(train, 0.2, 43)
    assert.notDeepEqual([...b.val], [...a.val])
    assert.deepEqual(perClass(train.labels, b.val, 5), [10, 6, 1, 0, 0], 'another seed, the same counts')
  })

  it('holdOutValidation: the training split shrinks by the held-out images, which are the ones named', () => {
    const px = 2 * 2 * 3
    const dataset = {name: 'x', imageSize: 2, train: split(counts, px), test: split([3, 3], px)}
    const withVal = holdOutValidation(dataset, 0.2, 42)
    const {train: kept, val} = validationIndices(dataset.train, 0.2, 42)
    assert.equal(withVal.train.count, train.count - 17)
    assert.equal(withVal.val?.count, 17)
    assert.deepEqual(withVal.valHoldOut?.val, val)
    val.forEach((index, k) => {
      assert.equal(withVal.val!.labels[k], dataset.train.labels[index])
      assert.deepEqual(withVal.val!.images.subarray(k * px, (k + 1) * px), dataset.train.images.subarray(index * px, (index + 1) * px))
    })
    kept.forEach((index, k) => assert.equal(withVal.train.images[k * px], index % 256))
    assert.equal(withVal.test, dataset.test, 'the test split is untouched')
    assert.equal(holdOutValidation(dataset, 0, 42), dataset, 'val_split 0: none')
    assert.equal(holdOutValidation(dataset, undefined, 42), dataset)
    assert.throws(() => holdOutValidation({...dataset, train: split([2, 2], px)}, 0.1, 42), /holds out no image of the 4 training images/)
  })

  it('stratifiedHoldOut draws each class with its own generator, as image_folder’s test_split does', () => {
    const labels = Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    const a = stratifiedHoldOut(labels, 10, 0.4, (label) => new Rng(5, label))
    assert.deepEqual(perClass(labels, a.held, 2), [2, 2])
    const b = stratifiedHoldOut(labels, 10, 0.4, (label) => new Rng(label === 0 ? 5 : 6, label))
    assert.deepEqual([...a.held].filter((i) => labels[i] === 0), [...b.held].filter((i) => labels[i] === 0), 'class 0 drew the same')
  })
})
