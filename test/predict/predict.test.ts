// mixture predict: image files become the run's input exactly as its evaluation images were made
// (a test image written as PNG predicts the logits evaluation computes for it; centre crop, resize,
// padding, normalisation), with class names, probabilities and CSV or JSON out.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import sharp from 'sharp'
import {tf} from '../../src/engine/tf.js'
import {batches, loadDataset} from '../../src/data/index.js'
import {DataError} from '../../src/data/errors.js'
import {expandInputs, loadInputs} from '../../src/predict/inputs.js'
import {predictImages} from '../../src/predict/predict.js'
import {openRun} from '../../src/run/load-run.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {mixture, resolveObject, tempDir, writeSpec} from '../helpers.js'
import {pixels} from '../export/helpers.js'

const S = 8
const spec = {
  name: 'tiny-predict',
  seed: 4,
  // resize: bilinear (4 taps) so that a 2× pixel-repeated image samples back exactly the original below
  data: {dataset: 'synthetic', image_size: S, resize: 'bilinear', synthetic: {train: 64, test: 12, classes: 3}, augment: [{type: 'hflip'}, {type: 'normalize', mean: [0.45, 0.5, 0.55], std: [0.2, 0.3, 0.25]}]},
  model: {type: 'mixture', block: 'alternating', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 4, mlp_dim: 8}]},
  train: {epochs: 1, batch_size: 32},
  engine: {backend: 'cpu'},
}

const raw = (data: Uint8Array, width: number, height: number) => sharp(Buffer.from(data), {raw: {width, height, channels: 3}})

describe('mixture predict', () => {
  let run: string
  let dir: string
  /** The first test images (uint8) and the logits evaluation computes for them. */
  let images: Uint8Array[]
  let evalLogits: number[][]

  before(async () => {
    dir = tempDir()
    run = ((await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary).run_dir
    const opened = await openRun(run, {backend: 'cpu'})
    const data = await loadDataset(opened.spec.data as never)
    const px = S * S * 3
    images = [0, 1, 2].map((i) => data.test.images.slice(i * px, (i + 1) * px))
    const [batch] = [...batches(data.test, {batchSize: 12, imageSize: S, shuffle: false, seed: 4, epoch: 0, augment: false})]
    const out = tf.tidy(() => Array.from((opened.built.model.apply(tf.tensor4d(batch.x, [12, S, S, 3]), {training: false}) as tf.Tensor).dataSync()))
    evalLogits = [0, 1, 2].map((i) => out.slice(i * 3, i * 3 + 3))
    opened.dispose()
  })

  it("a test image saved as PNG, the same image in a wider frame (centre crop) and at twice the size (resize) predict evaluation's logits", async () => {
    const png = join(dir, 'img0.png')
    await raw(images[0], S, S).png().toFile(png)
    // img1 inside a 14×8 frame of other pixels: the centred 8×8 square is the image.
    const framed = new Uint8Array(14 * S * 3)
    framed.set(pixels(14, S, 7))
    for (let y = 0; y < S; y++) framed.set(images[1].subarray(y * S * 3, (y + 1) * S * 3), (y * 14 + 3) * 3)
    await raw(framed, 14, S).png().toFile(join(dir, 'img1-framed.png'))
    // img2 upscaled 2× by repeating pixels: bilinear with half-pixel centres samples back exactly the original.
    const big = new Uint8Array(4 * S * S * 3)
    for (let y = 0; y < 2 * S; y++) for (let x = 0; x < 2 * S; x++) big.set(images[2].subarray(((y >> 1) * S + (x >> 1)) * 3, ((y >> 1) * S + (x >> 1)) * 3 + 3), (y * 2 * S + x) * 3)
    await raw(big, 2 * S, 2 * S).png().toFile(join(dir, 'img2-big.png'))
    const result = await predictImages({run, inputs: [png, join(dir, 'img1-framed.png'), join(dir, 'img2-big.png')], topK: 2})
    assert.deepEqual(result.input, {image_size: S, resize: 'bilinear', transforms: ['normalize']})
    assert.deepEqual(result.outputs, ['class_0', 'class_1', 'class_2'])
    result.predictions.forEach((p, i) => {
      assert.deepEqual(p.logits, evalLogits[i], `${p.file}: the logits evaluation computes for test image ${i}`)
      assert.equal(p.top.length, 2)
      assert.ok(p.top[0].probability >= p.top[1].probability)
      assert.equal(p.top[0].class, `class_${p.top[0].index}`)
      const best = p.logits.indexOf(Math.max(...p.logits))
      assert.equal(p.top[0].index, best)
    })
  })

  it('a folder gives its images, sorted; the CLI prints CSV, writes --out, or prints --json', async () => {
    const folder = join(dir, 'folder')
    mkdirSync(folder)
    await raw(images[1], S, S).png().toFile(join(folder, 'b.png'))
    await raw(images[0], S, S).jpeg({quality: 95}).toFile(join(folder, 'a.jpg'))
    const csv = mixture(['predict', run, folder, '--top-k', '1'])
    assert.equal(csv.code, 0, csv.stderr)
    const lines = csv.stdout.trim().split('\n')
    assert.equal(lines[0], 'file,rank,index,class,probability')
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), [join(folder, 'a.jpg'), join(folder, 'b.png')])
    const out = join(dir, 'predictions.csv')
    assert.equal(mixture(['predict', run, folder, '--top-k', '1', '--out', out]).code, 0)
    assert.equal(readFileSync(out, 'utf8'), csv.stdout)
    const json = mixture(['predict', run, join(folder, 'b.png'), '--json'])
    assert.equal(json.code, 0, json.stderr)
    const doc = JSON.parse(json.stdout)
    assert.deepEqual(doc.predictions[0].logits, evalLogits[1])
    assert.equal(doc.predictions[0].top.length, 3, 'top 5 of 3 classes: all 3')
    // --out into folders that do not exist yet makes them; an existing folder gets predictions.csv.
    const nested = join(dir, 'new', 'deeper', 'p.csv')
    assert.equal(mixture(['predict', run, folder, '--top-k', '1', '--out', nested]).code, 0)
    assert.equal(readFileSync(nested, 'utf8'), csv.stdout)
    assert.equal(mixture(['predict', run, folder, '--top-k', '1', '--out', join(dir, 'new')]).code, 0)
    assert.equal(readFileSync(join(dir, 'new', 'predictions.csv'), 'utf8'), csv.stdout)
    assert.deepEqual(readdirSync(join(dir, 'new')).filter((f) => f.includes('.tmp-')), [])
    // A name ending in / is a folder, made if need be.
    assert.equal(mixture(['predict', run, folder, '--top-k', '1', '--out', `${join(dir, 'made')}/`]).code, 0)
    assert.equal(readFileSync(join(dir, 'made', 'predictions.csv'), 'utf8'), csv.stdout)
  })

  it('refuses a device or FIFO as an input at once (it would never end), exit 2', () => {
    const r = mixture(['predict', run, '/dev/zero'], {timeoutMs: 20_000})
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /\/dev\/zero is not a regular file or folder/)
  })

  it('--skip-bad leaves out an image that cannot be read, naming it, and classifies the rest; without it the first such image stops predict (exit 2)', () => {
    const folder = join(dir, 'with-bad')
    mkdirSync(folder)
    copyFileSync(join(dir, 'folder', 'b.png'), join(folder, 'b.png'))
    writeFileSync(join(folder, 'a-broken.png'), 'not an image')
    const stopped = mixture(['predict', run, folder])
    assert.equal(stopped.code, 2, stopped.stderr)
    assert.match(stopped.stderr, /a-broken\.png/)
    const r = mixture(['predict', run, folder, '--skip-bad', '--top-k', '1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /skipped: Cannot decode image .*a-broken\.png/)
    const result = JSON.parse(r.stdout) as {predictions: {file: string}[]; skipped: {file: string}[]}
    assert.deepEqual([result.predictions.map((p) => p.file), result.skipped.map((p) => p.file)], [[join(folder, 'b.png')], [join(folder, 'a-broken.png')]])
    writeFileSync(join(folder, 'b.png'), 'no image either')
    assert.equal(mixture(['predict', run, folder, '--skip-bad']).code, 2, 'none left')
  })

  it("a folder is walked as ImageFolder walks one: Python's order, hidden folders skipped, a symlink loop refused", () => {
    const folder = join(dir, 'walk')
    mkdirSync(join(folder, '.hidden'), {recursive: true})
    mkdirSync(join(folder, 'sub'))
    // UTF-16 order would put the emoji (a surrogate pair) before the ligature.
    for (const name of ['\u{1F600}.png', '\uFB01.png', 'sub/c.png', '.hidden/d.png']) copyFileSync(join(dir, 'folder', 'b.png'), join(folder, name))
    assert.deepEqual(expandInputs([folder]), [join(folder, '\uFB01.png'), join(folder, '\u{1F600}.png'), join(folder, 'sub', 'c.png')])
    symlinkSync('..', join(folder, 'sub', 'up'))
    assert.throws(() => expandInputs([folder]), (e: unknown) => e instanceof DataError && /links back to/.test(e.message))
  })
})

describe('predict inputs', () => {
  it("a run that zero-pads (Fashion-MNIST at 32) pads a 28×28 image and refuses a larger one, saying what to do", async () => {
    const dir = tempDir()
    const fashion = resolveObject({name: 'f', data: {dataset: 'fashion_mnist', image_size: 32}, model: {type: 'cnn_classifier', channels: [3]}})
    const grey = new Uint8Array(28 * 28).map((_, i) => (i * 7) % 256)
    await sharp(Buffer.from(grey), {raw: {width: 28, height: 28, channels: 1}}).png().toFile(join(dir, 'shoe.png'))
    const {split} = await loadInputs([join(dir, 'shoe.png')], fashion)
    assert.equal(split.count, 1)
    const at = (x: number, y: number, c: number) => split.images[(y * 32 + x) * 3 + c]
    assert.equal(at(0, 0, 0), 0, 'the border is zero padding')
    assert.equal(at(2, 2, 0), grey[0], 'the image starts 2 px in')
    assert.equal(at(2 + 5, 2 + 3, 1), grey[3 * 28 + 5], 'greyscale is replicated into each channel')
    await sharp(pixels(40, 40, 1), {raw: {width: 40, height: 40, channels: 3}}).png().toFile(join(dir, 'big.png'))
    await assert.rejects(loadInputs([join(dir, 'big.png')], fashion), (e: Error) => e instanceof DataError && /zero-pads its images to 32×32/.test(e.message) && /Resize it/.test(e.message))
  })
})
