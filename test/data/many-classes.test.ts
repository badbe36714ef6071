// More than 256 classes: labels become 16 bits (Uint16Array) in image_folder, synthetic, the image
// cache, the validation hold-out and the data workers, while datasets of 256 classes or fewer keep
// byte labels and byte-identical cache files; a dataset plugin's labels are checked on load.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {BatchWorkers, type EpochBatchOptions} from '../../src/data/batch-workers.js'
import {contentHash as sha256, readCache, writeCache} from '../../src/data/image-cache.js'
import {labelArray, labelArrayLike, MAX_CLASSES} from '../../src/data/labels.js'
import {augmentFromConfig, batches, DataError, holdOutValidation, loadDataset, type Batch, type Split} from '../../src/data/index.js'
import {numClassesOf} from '../../src/model/build.js'
import {registerDataset, withSource, type DatasetSplit} from '../../src/registry/registry.js'
import {resolveObject} from '../helpers.js'
import {isolatedTmp, rmrf, writePng} from './helpers.js'

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

const CLASSES = 300
const S = 4
const PX = S * S * 3

/** The one S×S image of class k (its pixels name the class, also past 255). */
function classPixels(k: number): Uint8Array {
  return Uint8Array.from({length: PX}, (_, i) => ((k + i * 31) & 255) ^ (k >> 8))
}

/** A train/ and test/ folder of 300 classes, one image each (class folders c000 … c299, so that label k is class k); test/ holds the classes `testClasses`. */
async function writeManyClasses(root: string, testClasses: number[]): Promise<string> {
  const name = (k: number) => `c${String(k).padStart(3, '0')}`
  for (let k = 0; k < CLASSES; k++) await writePng(join(root, 'train', name(k), 'a.png'), classPixels(k), S, S)
  for (const k of testClasses) await writePng(join(root, 'test', name(k), 'a.png'), classPixels(k), S, S)
  return root
}

const cacheDir = () => join(tmp, 'xdg-cache', 'mixture-models', 'datasets', 'image_folder')

describe('labels.ts: the narrowest array for the classes', () => {
  it('bytes up to 256 classes, 16 bits beyond; a part of a split keeps its width', () => {
    assert.ok(labelArray(2, 3) instanceof Uint8Array)
    assert.ok(labelArray(256, 3) instanceof Uint8Array)
    assert.ok(labelArray(257, 3) instanceof Uint16Array)
    assert.ok(labelArray(MAX_CLASSES, 3) instanceof Uint16Array)
    assert.equal(MAX_CLASSES, 65_536)
    assert.ok(labelArrayLike(new Uint16Array(1), 2) instanceof Uint16Array)
    assert.ok(labelArrayLike(new Uint8Array(1), 2) instanceof Uint8Array)
  })
})

describe('image_folder of 300 classes', () => {
  it('loads with 16-bit labels 0 … 299 and the exact pixels; its cache round-trips and records the label width', async () => {
    const root = await writeManyClasses(join(tmp, 'many'), [0, 255, 256, 299])
    const cfg = {dataset: 'image_folder', root, image_size: S, augment: false as const}
    const lines: string[] = []
    const first = await loadDataset(cfg, {log: (m) => lines.push(m)})
    assert.equal(first.numClasses, CLASSES)
    assert.ok(first.train.labels instanceof Uint16Array, 'training labels are 16 bits')
    assert.ok(first.test.labels instanceof Uint16Array, 'test labels are 16 bits')
    assert.deepEqual([...first.train.labels], Array.from({length: CLASSES}, (_, k) => k))
    assert.deepEqual([...first.test.labels], [0, 255, 256, 299])
    assert.deepEqual(first.train.images.subarray(299 * PX, 300 * PX), classPixels(299))
    assert.deepEqual(first.test.images.subarray(2 * PX, 3 * PX), classPixels(256))
    assert.ok(!lines.some((l) => /from the cache/.test(l)))

    lines.length = 0
    const cached = await loadDataset(cfg, {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /from the cache/.test(l)), lines.join('\n'))
    for (const split of ['train', 'test'] as const) {
      assert.ok(cached[split].labels instanceof Uint16Array, `${split} labels from the cache are 16 bits`)
      assert.deepEqual(cached[split].labels, first[split].labels, split)
      assert.deepEqual(cached[split].images, first[split].images, split)
    }
    const [file] = readdirSync(cacheDir()).map((f) => join(cacheDir(), f))
    const bytes = readFileSync(file)
    const header = JSON.parse(bytes.toString('utf8', 12, 12 + bytes.readUInt32LE(8)))
    assert.equal(header.label_bytes, 2)

    // A damaged file (one byte short) is refused and the folder decoded again.
    writeFileSync(file, bytes.subarray(0, bytes.length - 1))
    lines.length = 0
    const again = await loadDataset(cfg, {log: (m) => lines.push(m)})
    assert.ok(!lines.some((l) => /from the cache/.test(l)), 'a damaged cache file is not read')
    assert.ok(lines.some((l) => /the decoded-image cache .* is damaged \(it is [\d,]+ bytes long, not the [\d,]+ its header says\): decoding the images again/.test(l)), lines.join('\n'))
    assert.deepEqual(again.train.labels, first.train.labels)

    // Damage in place (a label byte changed: a whole file of another image's class) is found by the checksum.
    const whole = readFileSync(file)
    const labelAt = 12 + whole.readUInt32LE(8) + 1
    whole[labelAt] ^= 1
    writeFileSync(file, whole)
    lines.length = 0
    const checked = await loadDataset(cfg, {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /is damaged \(its images and labels do not match their checksum\)/.test(l)), lines.join('\n'))
    assert.deepEqual(checked.train.labels, first.train.labels)
    lines.length = 0
    await loadDataset(cfg, {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /from the cache/.test(l)), 'the file was written anew, and is read again')
  })

})

describe('the image cache', () => {
  const split = (labels: Uint8Array | Uint16Array): DatasetSplit => ({labels, images: Uint8Array.from({length: labels.length * PX}, (_, i) => i & 255), count: labels.length})

  it('writes 16-bit labels little-endian with label_bytes: 2, and reads them back as they were', async () => {
    const file = join(tmp, 'wide.bin')
    const data = {splits: {train: split(Uint16Array.from([0, 299, 65_535, 256])), test: split(Uint16Array.from([1, 300]))}, skipped: []}
    assert.equal(await writeCache(file, S, data), undefined)
    const bytes = readFileSync(file)
    const headerLength = bytes.readUInt32LE(8)
    const labelStart = 12 + headerLength
    assert.equal(bytes.toString('utf8', 12, labelStart), JSON.stringify({size: S, label_bytes: 2, splits: [['train', 4], ['test', 2]], skipped: [], sha256: sha256(bytes.subarray(labelStart))}))
    assert.deepEqual([...bytes.subarray(labelStart, labelStart + 4)], [0, 0, 0x2b, 0x01], '0 and 299, uint16 LE')
    const read = await readCache(file, S)
    assert.ok(read && 'splits' in read)
    assert.ok(read.splits.train.labels instanceof Uint16Array)
    assert.deepEqual(read.splits, data.splits)
  })

  it('a file of byte labels has no label width in the header, one byte a label', async () => {
    const file = join(tmp, 'narrow.bin')
    const data = {splits: {train: split(Uint8Array.from([0, 255, 7])), test: split(Uint8Array.from([3]))}, skipped: [{path: 'x.png', reason: 'bad'}]}
    assert.equal(await writeCache(file, S, data), undefined)
    const body = Buffer.concat([Buffer.from([0, 255, 7, 3]), data.splits.train.images, data.splits.test.images])
    const header = Buffer.from(JSON.stringify({size: S, splits: [['train', 3], ['test', 1]], skipped: [{path: 'x.png', reason: 'bad'}], sha256: sha256(body)}))
    const length = Buffer.alloc(4)
    length.writeUInt32LE(header.length)
    const expected = Buffer.concat([Buffer.from('MMIMGC3\n', 'latin1'), length, header, body])
    assert.ok(readFileSync(file).equals(expected), 'byte for byte the MMIMGC3 file of byte labels')
    const read = await readCache(file, S)
    assert.ok(read && 'splits' in read && read.splits.train.labels instanceof Uint8Array)
    assert.deepEqual(read.splits, data.splits)
  })

  it('refuses a file whose label width does not match its length, or is not 1 or 2', async () => {
    const file = join(tmp, 'wide.bin')
    const bytes = readFileSync(file)
    const headerLength = bytes.readUInt32LE(8)
    const body = bytes.subarray(12 + headerLength)
    const withHeader = (header: Record<string, unknown>) => {
      const json = Buffer.from(JSON.stringify(header))
      const length = Buffer.alloc(4)
      length.writeUInt32LE(json.length)
      writeFileSync(file, Buffer.concat([bytes.subarray(0, 8), length, json, body]))
    }
    const sum = sha256(body)
    withHeader({size: S, splits: [['train', 4], ['test', 2]], skipped: [], sha256: sum})
    const asBytes = await readCache(file, S)
    assert.ok(asBytes && 'damaged' in asBytes, 'read as bytes, the file is 6 bytes too long')
    const [long, said] = /^it is ([\d,]+) bytes long, not the ([\d,]+) its header says$/.exec(asBytes.damaged)!.slice(1).map((n) => Number(n.replace(/,/g, '')))
    assert.equal(long - said, 6)
    withHeader({size: S, label_bytes: 3, splits: [['train', 4], ['test', 2]], skipped: [], sha256: sum})
    assert.equal(await readCache(file, S), undefined)
    withHeader({size: S, label_bytes: 2, splits: [['train', 4], ['test', 2]], skipped: [], sha256: sum})
    assert.ok(await readCache(file, S), 'the same body with its own header is read')
  })
})

describe('synthetic of 300 classes', () => {
  const model = {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}

  it('has 16-bit labels 0 … 299 in turn; 256 classes keep bytes', async () => {
    const ds = await loadDataset({dataset: 'synthetic', image_size: S, synthetic: {train: 2 * CLASSES, test: CLASSES, classes: CLASSES}})
    assert.equal(ds.numClasses, CLASSES)
    assert.ok(ds.train.labels instanceof Uint16Array)
    assert.deepEqual([...ds.train.labels], Array.from({length: 2 * CLASSES}, (_, n) => n % CLASSES))
    const bytes = await loadDataset({dataset: 'synthetic', image_size: S, synthetic: {train: 512, test: 8, classes: 256}})
    assert.ok(bytes.train.labels instanceof Uint8Array)
    assert.equal(Math.max(...bytes.train.labels), 255)
  })

  it('a spec may ask for up to 65,536 classes', () => {
    const spec = resolveObject({name: 'x', data: {dataset: 'synthetic', image_size: 8, synthetic: {classes: CLASSES}}, model})
    assert.equal(numClassesOf(spec), CLASSES)
    assert.throws(() => resolveObject({name: 'x', data: {dataset: 'synthetic', image_size: 8, synthetic: {classes: MAX_CLASSES + 1}}, model}), /data\.synthetic\.classes: must be <= 65536/)
  })
})

describe('16-bit labels downstream', () => {
  it('the validation hold-out keeps them, the ones above 255 included', () => {
    const labels = Uint16Array.from({length: 4 * CLASSES}, (_, n) => n % CLASSES)
    const train: Split = {images: Uint8Array.from({length: labels.length * 3}, (_, i) => i & 255), labels, count: labels.length}
    const withVal = holdOutValidation({imageSize: 1, train}, 0.25, 3)
    assert.equal(withVal.val?.count, CLASSES)
    for (const part of [withVal.train, withVal.val!]) assert.ok(part.labels instanceof Uint16Array)
    withVal.valHoldOut!.val.forEach((index, k) => assert.equal(withVal.val!.labels[k], labels[index]))
    assert.equal(Math.max(...withVal.val!.labels), CLASSES - 1)
  })

  it('data workers make the batches the training thread makes', async () => {
    const ds = await loadDataset({dataset: 'synthetic', image_size: 6, synthetic: {train: 600, test: 8, classes: CLASSES}})
    const opts: EpochBatchOptions = {batchSize: 64, imageSize: 6, shuffle: true, seed: 5, epoch: 1, augment: augmentFromConfig({augment: undefined}), what: 'the synthetic training split'}
    const expected = [...batches(ds.train, {...opts, fresh: true})]
    const pool = new BatchWorkers(2, 2)
    const made: Batch[] = []
    try {
      for await (const b of pool.epoch(ds.train, opts)) made.push(b)
    } finally {
      await pool.close()
    }
    assert.equal(made.length, expected.length)
    made.forEach((b, i) => {
      assert.deepEqual(b.y, expected[i].y, `batch ${i} labels`)
      assert.deepEqual(b.x, expected[i].x, `batch ${i} pixels`)
    })
    assert.ok(made.some((b) => b.y.some((y) => y > 255)), 'labels above 255 reach the batches')
  })
})

describe("a dataset plugin's labels", () => {
  /** Registers a plugin dataset of `classes` classes whose splits hold `labels` (2×2 images). */
  async function registerLabels(name: string, classes: number, labels: () => unknown): Promise<void> {
    const names = Array.from({length: classes}, (_, k) => `k${k}`)
    const split = () => ({images: new Uint8Array(3 * 12), labels: labels(), count: 3}) as DatasetSplit
    await withSource('test', async () => registerDataset({name, summary: 'a few 2×2 images', schema: {type: 'object', properties: {}}, classNames: () => names, load: async () => ({train: split(), test: split(), classNames: names, source: 'x'})}))
  }

  async function rejectsData(p: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`)
      assert.match(e.message, pattern)
      return true
    })
  }

  it('must be a Uint8Array or a Uint16Array: another array is refused, saying which to return', async () => {
    await registerLabels('int32_labels_test', 3, () => Int32Array.from([0, 1, 2]))
    await rejectsData(loadDataset({dataset: 'int32_labels_test', image_size: 2}), /^Dataset int32_labels_test returned its train labels as an Int32Array; a split's labels must be a Uint8Array \(up to 256 classes\) or a Uint16Array \(up to 65,536\), one class index per image: make its load\(\) return them so, e\.g\. Uint16Array\.from\(labels\)\.$/)
    await registerLabels('array_labels_test', 3, () => [0, 1, 2])
    await rejectsData(loadDataset({dataset: 'array_labels_test', image_size: 2}), /returned its train labels as an Array; a split's labels must be a Uint8Array/)
    await registerLabels('float_labels_test', 3, () => Float32Array.from([0, 1, 2]))
    await rejectsData(loadDataset({dataset: 'float_labels_test', image_size: 2}), /returned its train labels as a Float32Array/)
  })

  it('past 256 classes must be 16 bits: byte labels would have wrapped around', async () => {
    await registerLabels('byte_labels_300_test', CLASSES, () => Uint8Array.from([0, 1, 2]))
    await rejectsData(loadDataset({dataset: 'byte_labels_300_test', image_size: 2}), /^Dataset byte_labels_300_test has 300 classes but returned its train labels as a Uint8Array, whose bytes hold class indices up to 255 only \(a larger one wraps around to another class\): make its load\(\) return them as a Uint16Array\.$/)
    await registerLabels('wide_labels_300_test', CLASSES, () => Uint16Array.from([0, 256, 299]))
    const ds = await loadDataset({dataset: 'wide_labels_300_test', image_size: 2})
    assert.deepEqual([...ds.train.labels], [0, 256, 299])
    await registerLabels('wide_labels_300_bad_test', CLASSES, () => Uint16Array.from([0, 300, 1]))
    await rejectsData(loadDataset({dataset: 'wide_labels_300_bad_test', image_size: 2}), /returned train label 300 at example 1, but it has 300 classes/)
  })

  it('a few classes may come as bytes (as always) or as 16 bits', async () => {
    await registerLabels('byte_labels_test', 3, () => Uint8Array.from([0, 1, 2]))
    assert.deepEqual([...(await loadDataset({dataset: 'byte_labels_test', image_size: 2})).train.labels], [0, 1, 2])
    await registerLabels('buffer_labels_test', 3, () => Buffer.from([2, 1, 0]))
    assert.deepEqual([...(await loadDataset({dataset: 'buffer_labels_test', image_size: 2})).train.labels], [2, 1, 0])
    await registerLabels('short_labels_test', 3, () => Uint16Array.from([2, 0, 1]))
    assert.deepEqual([...(await loadDataset({dataset: 'short_labels_test', image_size: 2})).train.labels], [2, 0, 1])
  })

  it('more than 65,536 classes are refused', async () => {
    await registerLabels('too_many_classes_test', MAX_CLASSES + 1, () => Uint16Array.from([0, 1, 2]))
    await rejectsData(loadDataset({dataset: 'too_many_classes_test', image_size: 2}), /^Dataset too_many_classes_test has 65,537 classes, more than the 65,536 that 16-bit labels can tell apart/)
  })
})
