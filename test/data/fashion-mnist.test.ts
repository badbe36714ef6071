import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'

import {loadDataset} from '../../src/data/index.js'
import {isolatedTmp, rmrf} from './helpers.js'
import {skipUnless} from '../require.js'

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'
const skip = skipUnless('fashion_mnist', existsSync(`${DEBIAN_DIR}/train-images-idx3-ubyte.gz`) ? false : `${DEBIAN_DIR} is absent`)

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

describe('real Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it('loads 60000 train / 10000 test, padded to 32×32 RGB', {skip}, async (t) => {
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const ds = await loadDataset({dataset: 'fashion_mnist', image_size: 32})
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    t.diagnostic(
      `loaded Fashion-MNIST (60000 + 10000, gunzip + decode + pad + grey→RGB) in ${ms.toFixed(0)} ms wall, ` +
        `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (process, all threads)`,
    )
    assert.equal(ds.source, DEBIAN_DIR)
    assert.equal(ds.train.count, 60000)
    assert.equal(ds.test.count, 10000)
    assert.equal(ds.train.images.length, 60000 * 32 * 32 * 3)
    // the first labels of the official files
    assert.deepEqual([...ds.train.labels.subarray(0, 8)], [9, 0, 0, 3, 0, 2, 7, 2])
    assert.deepEqual([...ds.test.labels.subarray(0, 8)], [9, 2, 1, 1, 6, 1, 4, 6])
    const hist = new Array(10).fill(0)
    for (const l of ds.train.labels) hist[l]++
    assert.deepEqual(hist, new Array(10).fill(6000))
    // 2-px zero border, grey replicated into three equal channels, something drawn inside
    const img = ds.train.images
    let border = 0
    let inside = 0
    let unequal = 0
    for (let n = 0; n < 100; n++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const o = ((n * 32 + y) * 32 + x) * 3
          if (img[o] !== img[o + 1] || img[o] !== img[o + 2]) unequal++
          if (y < 2 || y >= 30 || x < 2 || x >= 30) border += img[o]
          else inside += img[o]
        }
    assert.equal(border, 0)
    assert.equal(unequal, 0)
    assert.ok(inside > 100 * 255 * 50)
  })
})
