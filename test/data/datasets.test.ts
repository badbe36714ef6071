import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {join} from 'node:path'

import {resolveSpec} from '../../src/config/resolve.js'
import {batches, DataError, loadDataset} from '../../src/data/index.js'
import {classDifference, relabelByName} from '../../src/data/load.js'
import {allEntries, registerDataset, withSource, type DatasetDef, type DatasetSplit} from '../../src/registry/registry.js'
import {numClassesOf} from '../../src/model/build.js'
import '../../src/builtins.js'
import {REPO, resolveObject, writeSpec} from '../helpers.js'
import {isolatedTmp, rmrf} from './helpers.js'

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

/** A plugin file that adds a dataset and a transform through the public API it is handed. */
const PLUGIN = `
export default function (mm) {
  mm.registerDataset({
    name: 'stripes',
    summary: 'Vertical stripes: the class is the stripe period.',
    schema: {type: 'object', additionalProperties: false, properties: {per_class: {type: 'integer', minimum: 1, default: 4}}},
    classNames: () => ['narrow', 'wide'],
    async load(data, ctx) {
      const s = data.image_size
      const make = (n) => {
        const count = Math.min(2 * n, Infinity)
        const images = new Uint8Array(count * s * s * 3)
        const labels = new Uint8Array(count)
        for (let i = 0; i < count; i++) {
          labels[i] = i % 2
          for (let p = 0; p < s * s; p++) images.fill(((p % s) >> labels[i]) & 1 ? 200 : 20, (i * s * s + p) * 3, (i * s * s + p) * 3 + 3)
        }
        return {images, labels, count: Math.min(count, ctx.limits.train)}
      }
      ctx.log('stripes: made')
      return {train: make(data.per_class), test: make(1), classNames: ['narrow', 'wide'], source: 'generated stripes'}
    },
  })
  mm.registerTransform({
    name: 'invert',
    summary: 'x → 1 − x.',
    applies: 'always',
    schema: {type: 'object', additionalProperties: false, properties: {}},
    create: () => ({apply(img, off, size) { for (let i = off; i < off + size * size * 3; i++) img[i] = 1 - img[i] }}),
  })
}
`

describe('datasets are registry entries', () => {
  it("a dataset too large for the process's memory is a DataError saying how large an image is and what to lower", async () => {
    await assert.rejects(
      loadDataset({dataset: 'synthetic', image_size: 1024, synthetic: {train: 100_000, test: 8, classes: 3}} as never),
      (e: unknown) => e instanceof DataError && /Dataset synthetic does not fit in this process's memory .*1024×1024×3 bytes each \(3\.00 MiB\).*Lower data\.image_size/.test(e.message),
    )
  })

  it('every built-in is registered and names its classes without loading anything', () => {
    const names = allEntries(['dataset']).map((e) => e.name)
    assert.deepEqual(names, ['cifar10', 'cifar100', 'fashion_mnist', 'image_folder', 'mnist', 'stl10', 'synthetic'])
    for (const entry of allEntries(['dataset']) as DatasetDef[]) {
      if (entry.name === 'image_folder') continue
      const classes = entry.classNames({dataset: entry.name, image_size: 32})
      assert.equal(classes.length, entry.classes, entry.name)
    }
    assert.equal(numClassesOf({data: {dataset: 'cifar100', image_size: 32, label_mode: 'coarse'}, model: {num_classes: null} as never}), 20)
    assert.equal(numClassesOf({data: {dataset: 'synthetic', image_size: 32, synthetic: {classes: 7}}, model: {num_classes: null} as never}), 7)
  })

  it('a dataset’s own options are checked at validation: unknown keys get a suggestion, bad combinations the reason', () => {
    const model = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}
    assert.throws(() => resolveObject({name: 'x', data: {dataset: 'synthetic', image_size: 8, synthetc: {train: 4}}, model}), /data\.synthetc: unknown key, did you mean synthetic\?/)
    assert.throws(() => resolveObject({name: 'x', data: {dataset: 'synthetic', image_size: 8, imag_size: 4}, model}), /data\.imag_size: unknown key, did you mean image_size\?/)
    assert.throws(() => resolveObject({name: 'x', data: {dataset: 'cifar10', label_mode: 'coarse'}, model}), /data\.dataset: .*coarse applies to cifar100 only/)
    assert.throws(() => resolveObject({name: 'x', data: {dataset: 'synthetic', synthetic: {classes: 1}}, model}), /data\.synthetic\.classes: must be >= 2/)
  })

  it('a plugin file adds a dataset and a transform the same way it adds a component', async () => {
    const plugin = join(tmp, 'stripes.mjs')
    writeFileSync(plugin, PLUGIN)
    const model = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}
    const file = writeSpec({name: 'p', plugins: ['./stripes.mjs'], data: {dataset: 'stripes', image_size: 4, augment: ['invert']}, model}, tmp)
    const {spec} = await resolveSpec(file)
    assert.equal(spec.data.per_class, 4, 'the plugin schema’s default is filled')
    assert.equal(numClassesOf(spec), 2)
    await assert.rejects(resolveSpec(file, ['data.per_clas=3']), /data\.per_clas: unknown key, did you mean per_class\?/)
    const lines: string[] = []
    const ds = await loadDataset(spec.data as never, {log: (m) => lines.push(m)})
    assert.deepEqual(ds.classNames, ['narrow', 'wide'])
    assert.equal(ds.train.count, 8)
    assert.equal(ds.source, 'generated stripes')
    assert.deepEqual(lines, ['stripes: made'])
    const [b] = [...batches(ds.test, {batchSize: 8, imageSize: 4, shuffle: false, seed: 0, epoch: 0, augment: false})]
    assert.ok(Math.abs(b.x[0] - (1 - 20 / 255)) < 1e-6, 'an always-transform of a plugin reaches evaluation batches')
    const listed = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), 'list', 'dataset', '--json'], {encoding: 'utf8'})
    const items = JSON.parse(listed.stdout) as Array<{name: string; defaults: Record<string, unknown>; keys: Array<{key: string; description: string}>}>
    assert.deepEqual(items.find((i) => i.name === 'cifar10')?.defaults, {classes: 10, native_size: 32})
    assert.deepEqual(items.find((i) => i.name === 'image_folder')?.defaults, {split_seed: 0, on_bad_image: 'fail', cache: true}, 'root is required: no default')
    // The keys the defaults leave out are listed too: optional ones without a default, nested ones by their path.
    assert.deepEqual(items.find((i) => i.name === 'image_folder')?.keys.map((k) => k.key), ['test_split'])
    assert.deepEqual(items.find((i) => i.name === 'synthetic')?.keys.map((k) => k.key), ['synthetic.train', 'synthetic.test', 'synthetic.classes', 'synthetic.noise', 'synthetic.seed'])
    assert.match(items.find((i) => i.name === 'synthetic')!.keys[0].description, /training images \(default 2000\)/)
    assert.deepEqual(items.find((i) => i.name === 'cifar10')?.keys, [])
  })

  it('what a dataset’s load returns is checked', async () => {
    await withSource('test', async () => {
      registerDataset({
        name: 'broken_test_set',
        summary: 'returns a split of the wrong size',
        schema: {type: 'object', properties: {}},
        classNames: () => ['a', 'b'],
        load: async () => ({train: {images: new Uint8Array(5), labels: new Uint8Array(1), count: 1}, test: {images: new Uint8Array(12), labels: new Uint8Array([3]), count: 1}, classNames: ['a', 'b'], source: 'x'}),
      })
    })
    await assert.rejects(loadDataset({dataset: 'broken_test_set', image_size: 2}), (e: unknown) => e instanceof DataError && /does not hold 1 images of 2×2×3/.test(e.message))
  })

  it('a dataset of one class is refused before training', async () => {
    await registerTiny('one_class_test', ['only'], ['only'])
    await rejectsData(loadDataset({dataset: 'one_class_test', image_size: 2}), /^Dataset one_class_test has one class \(only\), and a classifier needs at least 2: give it data of two classes or more/)
  })

  it('classNames() and load() must give the same classes in the same order', async () => {
    await registerTiny('swapped_test', ['cat', 'dog'], ['dog', 'cat'])
    await rejectsData(
      loadDataset({dataset: 'swapped_test', image_size: 2}),
      /^Dataset swapped_test announced the classes \[cat, dog\] \(its classNames\(\)\) but its load\(\) returned \[dog, cat\] \(the same classes in another order: class 0 is dog, not cat\): a dataset plugin's classNames\(\) and load\(\) must return the same classes in the same order/,
    )
    await registerTiny('renamed_test', ['cat', 'dog'], ['cat', 'fox'])
    await rejectsData(loadDataset({dataset: 'renamed_test', image_size: 2}), /announced the classes \[cat, dog\] .* returned \[cat, fox\] \(missing \[dog\]; extra \[fox\]\)/)
  })

  it('a dataset’s own validation split is kept (with the evaluation transforms), and data.val_split beside it refused', async () => {
    await registerTiny('own_val_test', ['a', 'b'], ['a', 'b'], {val: tinySplit([1, 0, 1])})
    const ds = await loadDataset({dataset: 'own_val_test', image_size: 2, augment: [{type: 'normalize', mean: 0.5, std: 0.25}]})
    assert.deepEqual([...ds.val!.labels], [1, 0, 1])
    assert.ok(ds.val!.evalTransforms, 'normalize reaches the validation split')
    await rejectsData(loadDataset({dataset: 'own_val_test', image_size: 2, val_split: 0.2}), /^Dataset own_val_test has a validation split of its own \(tiny\), and data\.val_split 0\.2 would hold another one out of the training images: remove data\.val_split/)
  })
})

/** A 2×2 split of these labels. */
function tinySplit(labels: number[]): DatasetSplit {
  return {images: new Uint8Array(labels.length * 12), labels: Uint8Array.from(labels), count: labels.length}
}

/** Registers a plugin dataset whose classNames() gives `announced` and whose load() returns `loaded` as its class names. */
async function registerTiny(name: string, announced: string[], loaded: string[], more: Record<string, unknown> = {}): Promise<void> {
  await withSource('test', async () => {
    registerDataset({
      name,
      summary: 'a few 2×2 images',
      schema: {type: 'object', properties: {}},
      classNames: () => announced,
      load: async () => ({train: tinySplit([0, 0]), test: tinySplit([0]), classNames: loaded, source: 'tiny', ...more}),
    })
  })
}

async function rejectsData(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`)
    assert.match(e.message, pattern)
    return true
  })
}

describe('class names compared by name', () => {
  it('a name a file system stores decomposed (NFD) is the class written composed (NFC): classDifference and relabelByName match them', () => {
    const composed = 'd\u00f6g'
    const decomposed = 'do\u0308g'
    assert.notEqual(composed, decomposed)
    assert.equal(classDifference(['cat', decomposed], ['cat', composed]), undefined)
    assert.match(classDifference(['cat', 'dug'], ['cat', composed]) ?? '', /missing \[d\u00f6g\]; extra \[dug\]/)
    const split = (labels: number[]): DatasetSplit => ({images: new Uint8Array(labels.length * 3), labels: Uint8Array.from(labels), count: labels.length})
    const dataset = {name: 'x', source: 'x', classNames: [decomposed, 'cat'], numClasses: 2, train: split([]), test: split([0, 1, 0])}
    const relabelled = relabelByName(dataset as unknown as Parameters<typeof relabelByName>[0], ['cat', composed])
    assert.deepEqual([...relabelled.test.labels], [1, 0, 1])
  })
})
