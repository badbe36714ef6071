/**
 * image_folder against the IDX reader on the same Fashion-MNIST images (Debian's
 * dataset-fashion-mnist, or --data-dir). A script that prints measured numbers; it asserts nothing.
 *
 *   node dist/bench/image-folder.js [--train 10000] [--test 2000] [--epochs 2] [--backend native]
 *                                   [--out /tmp/mixture-image-folder] [--data-dir DIR] [--reuse] [--no-train]
 *
 * It takes the first --train / --test images of the official files (file order) and writes
 *   png/train/<k>_<class>/<index>.png, png/test/...   greyscale PNG files, one folder per class
 *   idx-file-order/      the same images as IDX files, in the official file order
 *   idx-folder-order/    the same images as IDX files, in image_folder's order (class, then file name)
 * then times loading (IDX; image_folder decoding; image_folder from its cache) and trains one spec
 * on the three. image_folder and idx-folder-order see the same images in the same order, so with
 * the same seed their metrics must be identical to the last digit (timing columns aside);
 * idx-file-order differs only by the order of the examples. --reuse keeps the files of an earlier
 * run with the same --out (and its cache: the first load then reads from it); --no-train only loads.
 */
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {parseArgs} from 'node:util'

import sharp from 'sharp'
import '../src/builtins.js'
import {DATASETS} from '../src/data/catalog.js'
import {loadDataset} from '../src/data/load.js'
import {locateDataset} from '../src/data/locate.js'
import {decodeIdxPair} from '../src/data/formats.js'
import {runExperiment, type RunSummary} from '../src/run/experiment.js'
import {stringify} from 'yaml'

const {values: opts} = parseArgs({
  options: {
    train: {type: 'string', default: '10000'},
    test: {type: 'string', default: '2000'},
    epochs: {type: 'string', default: '2'},
    backend: {type: 'string', default: 'native'},
    out: {type: 'string', default: '/tmp/mixture-image-folder'},
    'data-dir': {type: 'string'},
    reuse: {type: 'boolean', default: false},
    'no-train': {type: 'boolean', default: false},
  },
})

const info = DATASETS.fashion_mnist
const located = locateDataset('fashion_mnist', [opts['data-dir']])
const read = (name: string) => {
  const data = new Uint8Array(readFileSync(located.paths[name]))
  return {path: located.paths[name], data: data[0] === 0x1f && data[1] === 0x8b ? new Uint8Array(gunzipSync(data)) : data}
}
const split = (images: string, labels: string, limit: number) => decodeIdxPair(read(images), read(labels), 10, limit)
const train = split('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', Number(opts.train))
const test = split('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', Number(opts.test))
const out = opts.out!
const reuse = opts.reuse && existsSync(join(out, 'png'))
if (!reuse) rmSync(out, {recursive: true, force: true})
const S = 28
const px = S * S
const folderName = (k: number) => `${k}_${info.classNames[k].replace(/[^A-Za-z0-9-]+/g, '_')}`

function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length))
  header.setUint32(0, 0x0800 + dims.length, false)
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false))
  const file = new Uint8Array(header.byteLength + data.length)
  file.set(new Uint8Array(header.buffer))
  file.set(data, header.byteLength)
  return file
}

/** Writes `order` of a split as IDX files under `dir` with the official (un-gzipped) names. */
function writeIdx(dir: string, prefix: string, raw: typeof train, order: number[]): void {
  mkdirSync(dir, {recursive: true})
  const images = new Uint8Array(order.length * px)
  order.forEach((i, n) => images.set(raw.images.subarray(i * px, (i + 1) * px), n * px))
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idxFile([order.length, S, S], images))
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxFile([order.length], Uint8Array.from(order, (i) => raw.labels[i])))
}

const t0 = performance.now()
for (const [name, raw] of reuse ? [] : ([['train', train], ['test', test]] as const)) {
  for (let i = 0; i < raw.count; i++) {
    const dir = join(out, 'png', name, folderName(raw.labels[i]))
    mkdirSync(dir, {recursive: true})
    await sharp(raw.images.subarray(i * px, (i + 1) * px), {raw: {width: S, height: S, channels: 1}}).png().toFile(join(dir, `${String(i).padStart(5, '0')}.png`))
  }
}
const exportSeconds = (performance.now() - t0) / 1000
// image_folder's order: class folders sorted (the k_ prefix keeps the IDX label order), then file names.
const folderOrder = (raw: typeof train) => Array.from({length: raw.count}, (_, i) => i).sort((a, b) => raw.labels[a] - raw.labels[b] || a - b)
const fileOrder = (raw: typeof train) => Array.from({length: raw.count}, (_, i) => i)
writeIdx(join(out, 'idx-file-order'), 'train', train, fileOrder(train))
writeIdx(join(out, 'idx-file-order'), 't10k', test, fileOrder(test))
writeIdx(join(out, 'idx-folder-order'), 'train', train, folderOrder(train))
writeIdx(join(out, 'idx-folder-order'), 't10k', test, folderOrder(test))

process.env.XDG_CACHE_HOME = join(out, 'cache')
const timed = async (what: string, cfg: Record<string, unknown>, dataDir?: string) => {
  const start = performance.now()
  const ds = await loadDataset({dataset: 'fashion_mnist', image_size: S, augment: false, ...cfg} as never, {dataDir})
  const seconds = (performance.now() - start) / 1000
  console.log(`load ${what.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s  (${ds.train.count} train / ${ds.test.count} test)`)
  return ds
}
console.log(`Fashion-MNIST from ${located.dir}: first ${train.count} train / ${test.count} test images; ${reuse ? 'PNG files of the last run kept' : `PNG export ${exportSeconds.toFixed(1)} s`}`)
const idx = await timed('IDX (folder order)', {}, join(out, 'idx-folder-order'))
const decoded = await timed('image_folder, decoding (cold cache)', {dataset: 'image_folder', root: join(out, 'png')})
const cached = await timed('image_folder, from its cache', {dataset: 'image_folder', root: join(out, 'png')})
const same = (a: Uint8Array | Uint16Array, b: Uint8Array | Uint16Array) => a.length === b.length && a.every((v: number, i: number) => v === b[i])
console.log(`same uint8 pixels and labels as the IDX reader: ${same(idx.train.images, decoded.train.images) && same(idx.test.images, decoded.test.images) && same(idx.train.labels, decoded.train.labels) && same(idx.test.labels, cached.test.labels) && same(decoded.train.images, cached.train.images)}`)

if (opts['no-train']) process.exit(0)

const spec = (data: Record<string, unknown>) => ({
  name: 'image-folder-proof',
  seed: 42,
  data: {image_size: S, augment: {hflip: true, brightness: 0.5, hue: 0}, ...data},
  model: {type: 'cnn_classifier', channels: [16, 16, 3]},
  train: {epochs: Number(opts.epochs), batch_size: 64, optimizer: {type: 'adam', lr: 1e-3, weight_decay: 1e-4}},
  engine: {backend: opts.backend},
})
const runs: Array<[string, Record<string, unknown>, string | undefined]> = [
  ['IDX, official file order', {dataset: 'fashion_mnist'}, join(out, 'idx-file-order')],
  ['IDX, image_folder order', {dataset: 'fashion_mnist'}, join(out, 'idx-folder-order')],
  ['image_folder (PNG files)', {dataset: 'image_folder', root: join(out, 'png')}, undefined],
]
const rows: Record<string, string[]> = {}
for (const [label, data, dataDir] of runs) {
  const file = join(out, `${label.replace(/\W+/g, '-')}.yaml`)
  writeFileSync(file, stringify(spec(data)))
  const summary = (await runExperiment({spec: file, dataDir, outDir: join(out, 'results'), log: () => undefined})) as RunSummary
  const [header, ...lines] = readFileSync(join(summary.run_dir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keep = header.split(',').map((k, i) => (['epoch', 'train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'].includes(k) ? i : -1)).filter((i) => i >= 0)
  rows[label] = lines.map((l) => keep.map((i) => l.split(',')[i]).join(','))
  console.log(`\n${label} (${summary.backend}, ${summary.train_minutes.toFixed(2)} training minutes): best test accuracy ${summary.best_test_accuracy}`)
  console.log('  epoch,train_loss,train_accuracy,test_loss,test_accuracy')
  for (const r of rows[label]) console.log(`  ${r}`)
}
const [fileOrderRows, folderOrderRows, folderRows] = Object.values(rows)
console.log(`\nimage_folder vs IDX in the same order: metrics ${folderRows.join() === folderOrderRows.join() ? 'identical' : 'DIFFERENT'}`)
console.log(`IDX in file order vs folder order: metrics ${fileOrderRows.join() === folderOrderRows.join() ? 'identical' : 'differ (another example order)'}`)
