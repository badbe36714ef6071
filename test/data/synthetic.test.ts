import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {batches, DEFAULT_AUGMENT, loadDataset, type Split} from '../../src/data/index.js'
import '../../src/builtins.js'

/** Nearest-class-mean accuracy on `test` using means of (optionally augmented) `train` images. */
function nearestMeanAccuracy(train: Split, test: Split, classes: number, size: number, augment: boolean): number {
  const px = size * size * 3
  const sums = new Float64Array(classes * px)
  const counts = new Float64Array(classes)
  for (const b of batches(train, {batchSize: 64, imageSize: size, shuffle: true, seed: 3, epoch: 0, augment: augment ? DEFAULT_AUGMENT : false})) {
    for (let k = 0; k < b.size; k++) {
      const c = b.y[k]
      counts[c]++
      for (let i = 0; i < px; i++) sums[c * px + i] += b.x[k * px + i]
    }
  }
  for (let c = 0; c < classes; c++) for (let i = 0; i < px; i++) sums[c * px + i] /= counts[c]
  let correct = 0
  for (const b of batches(test, {batchSize: 64, imageSize: size, shuffle: false, seed: 0, epoch: 0})) {
    for (let k = 0; k < b.size; k++) {
      let best = -1
      let bestD = Infinity
      for (let c = 0; c < classes; c++) {
        let d = 0
        for (let i = 0; i < px; i++) {
          const e = b.x[k * px + i] - sums[c * px + i]
          d += e * e
        }
        if (d < bestD) {
          bestD = d
          best = c
        }
      }
      if (best === b.y[k]) correct++
    }
  }
  return correct / test.count
}

describe('synthetic dataset', () => {
  it('is deterministic in its seed, balanced, and sized as configured', async () => {
    const cfg = {dataset: 'synthetic', image_size: 16, synthetic: {train: 50, test: 20, classes: 5}}
    const a = await loadDataset(cfg)
    const b = await loadDataset(cfg)
    assert.deepEqual(a.train.images, b.train.images)
    assert.deepEqual(a.test.images, b.test.images)
    assert.notDeepEqual(a.train.images.subarray(0, 768 * 5), a.test.images.subarray(0, 768 * 5), 'train and test are different draws')
    const c = await loadDataset({...cfg, synthetic: {...cfg.synthetic, seed: 1}})
    assert.notDeepEqual(c.train.images, a.train.images)
    assert.equal(a.train.images.length, 50 * 16 * 16 * 3)
    assert.equal(a.numClasses, 5)
    assert.deepEqual(a.classNames, ['class_0', 'class_1', 'class_2', 'class_3', 'class_4'])
    const hist = new Array(5).fill(0)
    for (const l of a.train.labels) hist[l]++
    assert.deepEqual(hist, [10, 10, 10, 10, 10])
    const limited = await loadDataset({...cfg, train_limit: 7, test_limit: 3})
    assert.deepEqual([limited.train.count, limited.test.count], [7, 3])
    assert.deepEqual(limited.train.images, a.train.images.subarray(0, 7 * 768))
  })

  it('is learnable: a nearest-class-mean classifier is far above chance, even from augmented training images', async (t) => {
    const ds = await loadDataset({dataset: 'synthetic', image_size: 16, synthetic: {train: 400, test: 200, classes: 10}})
    const plain = nearestMeanAccuracy(ds.train, ds.test, 10, 16, false)
    const aug = nearestMeanAccuracy(ds.train, ds.test, 10, 16, true)
    t.diagnostic(`nearest-class-mean accuracy: ${plain} (plain means), ${aug} (augmented means); chance 0.1`)
    assert.ok(plain >= 0.9, `accuracy ${plain}`)
    assert.ok(aug >= 0.5, `accuracy with augmented class means ${aug}`)
  })

  it('supports more than ten classes and other sizes', async () => {
    const ds = await loadDataset({dataset: 'synthetic', image_size: 8, synthetic: {train: 60, test: 30, classes: 30, noise: 0}})
    assert.equal(ds.numClasses, 30)
    assert.equal(Math.max(...ds.train.labels), 29)
    assert.equal(ds.train.images.length, 60 * 8 * 8 * 3)
  })
})
