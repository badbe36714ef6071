// `mixture export --format tfjs`: every paper architecture becomes a graph model of stock ops that
// plain @tensorflow/tfjs loads in another Node process (importing nothing of this project) and that
// gives our logits; a trained run's export gives `mixture predict`'s logits; a layer without a
// stock-op form stops the export, naming its class.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import sharp from 'sharp'
import {tf, tfl} from '../../src/engine/tf.js'
import {exportRun} from '../../src/export/export-run.js'
import {ExportError} from '../../src/export/errors.js'
import {EXPORTABLE_LAYERS, layerGraph} from '../../src/export/layer-graph.js'
import {tfjsGraphModel} from '../../src/export/tfjs.js'
import {inputBatches, loadInputs} from '../../src/predict/inputs.js'
import {predictImages} from '../../src/predict/predict.js'
import {openRun} from '../../src/run/load-run.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {REPO, tempDir, writeSpec} from '../helpers.js'
import {makeRun, maxRelDiff, OTHER_ARCHITECTURES, PAPER_ARCHITECTURES, pixels, serveFolder, testImages, TINY_RESNET} from './helpers.js'

const STOCK = join(REPO, 'test', 'fixtures', 'export', 'stock-tfjs.mjs')
const TOLERANCE = 1e-4

interface Job {
  name: string
  url: string
  input: {shape: number[]; values: number[]}
  expected: number[]
}

/** Run the jobs in a separate Node process that imports only @tensorflow/tfjs; the files are served over loopback HTTP. */
async function inStockTfjs(root: string, jobs: Job[]): Promise<{logits: number[]; shape: number[]; metadata: {mixture_models?: {outputs?: string[]}} | null}[]> {
  const {url, server} = await serveFolder(root)
  try {
    const jobFile = join(root, 'job.json')
    const resultFile = join(root, 'result.json')
    writeFileSync(jobFile, JSON.stringify({models: jobs.map((j) => ({url: `${url}/${j.url}`, input: j.input}))}))
    await promisify(execFile)(process.execPath, [STOCK, jobFile, resultFile], {cwd: REPO, timeout: 120_000})
    return JSON.parse(readFileSync(resultFile, 'utf8')).results
  } finally {
    server.close()
  }
}

/** Our logits for the run's best checkpoint: the restored model in evaluation mode, as predict runs it. */
async function ourLogits(run: string, input: {shape: number[]; values: number[]}): Promise<number[]> {
  const opened = await openRun(run, {backend: 'cpu'})
  try {
    return tf.tidy(() => Array.from((opened.built.model.apply(tf.tensor(input.values, input.shape), {training: false}) as tf.Tensor).dataSync()))
  } finally {
    opened.dispose()
  }
}

test('every paper architecture (and the other built-in norms) exports as a stock-op graph model that plain @tensorflow/tfjs runs, with our logits', async () => {
  const dir = tempDir()
  const jobs: Job[] = []
  for (const [name, spec] of Object.entries({...PAPER_ARCHITECTURES, 'resnet18-tiny': TINY_RESNET, ...OTHER_ARCHITECTURES})) {
    const run = await makeRun(dir, name, spec)
    const result = await exportRun({run, format: 'tfjs'})
    assert.deepEqual(result.files.map((f) => f.slice(result.out_dir.length + 1)).sort(), ['export.json', 'group1-shard1of1.bin', 'model.json'])
    const model = JSON.parse(readFileSync(join(result.out_dir, 'model.json'), 'utf8'))
    assert.equal(model.format, 'graph-model')
    const ops = new Set<string>(model.modelTopology.node.map((n: {op: string}) => n.op))
    assert.ok(![...ops].some((op) => /mixture/i.test(op)), `${name}: only stock ops (${[...ops].join(', ')})`)
    const input = testImages((spec.data as {image_size: number}).image_size)
    jobs.push({name, url: `${name}/export/tfjs-best/model.json`, input, expected: await ourLogits(run, input)})
  }
  const results = await inStockTfjs(dir, jobs)
  jobs.forEach((job, i) => {
    const diff = maxRelDiff(results[i].logits, job.expected)
    assert.equal(results[i].logits.length, job.expected.length, `${job.name}: as many logits as ours`)
    assert.ok(diff <= TOLERANCE, `${job.name}: stock tfjs logits differ from ours by ${diff} (relative), more than ${TOLERANCE}`)
    assert.ok(results[i].metadata?.mixture_models?.outputs?.length, `${job.name}: the output names travel in the model's metadata`)
  })
})

test("a trained run's tfjs export gives the logits `mixture predict` gives for the same image files", async () => {
  const dir = tempDir()
  const spec = {
    name: 'tiny-predict',
    seed: 5,
    data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 16, classes: 3}, augment: [{type: 'hflip'}, {type: 'normalize', mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3]}]},
    model: {type: 'mixture', block: 'alternating', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 4, mlp_dim: 8}]},
    train: {epochs: 1, batch_size: 32},
    engine: {backend: 'cpu'},
  }
  const summary = (await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary
  const files = [join(dir, 'wide.png'), join(dir, 'small.jpg')]
  await sharp(pixels(20, 12, 3), {raw: {width: 20, height: 12, channels: 3}}).png().toFile(files[0])
  await sharp(pixels(8, 8, 4), {raw: {width: 8, height: 8, channels: 3}}).jpeg().toFile(files[1])
  const predicted = await predictImages({run: summary.run_dir, inputs: files})
  const exported = await exportRun({run: summary.run_dir, format: 'tfjs'})
  // The inputs predict made (crop, resize, scale, normalize): what a user of the export must make too.
  const opened = await openRun(summary.run_dir, {backend: 'cpu'})
  const {split} = await loadInputs(files, opened.spec)
  const [batch] = [...inputBatches(split, opened.spec, 16)]
  opened.dispose()
  assert.deepEqual(exported.input.normalize, {mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3]}, 'export.json says how inputs are normalised')
  const rel = exported.out_dir.slice(dir.length + 1)
  const [result] = await inStockTfjs(dir, [{name: 'trained', url: `${rel}/model.json`, input: {shape: [2, 8, 8, 3], values: Array.from(batch.x)}, expected: []}])
  const fromPredict = predicted.predictions.flatMap((p) => p.logits)
  const diff = maxRelDiff(result.logits, fromPredict)
  assert.ok(diff <= TOLERANCE, `the export's logits differ from mixture predict's by ${diff}`)
  assert.deepEqual(result.shape, [2, 3])
})

test("docs/export.md's Node snippet (tf.io.fromMemory, no server) loads an export with its metadata and our logits", async () => {
  const dir = tempDir()
  const run = await makeRun(dir, 'tiny', TINY_RESNET)
  const exported = await exportRun({run, format: 'tfjs'})
  const blocks = [...readFileSync(join(REPO, 'docs', 'export.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  const snippet = blocks.find((block) => block.includes('tf.io.fromMemory'))
  assert.ok(snippet, 'docs/export.md shows the fromMemory snippet')
  const input = testImages(16)
  const code = `${snippet.replace(/^const dir = .*$/m, `const dir = ${JSON.stringify(exported.out_dir)}`)}
const y = model.predict(tf.tensor(${JSON.stringify(input.values)}, ${JSON.stringify(input.shape)}))
console.log(JSON.stringify({outputs: model.metadata.mixture_models.outputs, logits: Array.from(await y.data())}))`
  // --eval resolves @tensorflow/tfjs from the working folder, as the snippet in a user's project would.
  const {stdout} = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', code], {cwd: REPO, timeout: 120_000})
  const result = JSON.parse(stdout.trim().split('\n').find((line) => line.startsWith('{'))!)
  assert.deepEqual(result.outputs, exported.outputs, 'the output names travel in model.metadata')
  const diff = maxRelDiff(result.logits, await ourLogits(run, input))
  assert.ok(diff <= TOLERANCE, `the snippet's logits differ from ours by ${diff}`)
})

test("tfjs's own layers a plugin may build from (activations, LeakyReLU, Multiply, Concatenate, average pooling, dropout) export as stock ops with the model's outputs", async () => {
  const input = tfl.input({shape: [8, 8, 3]})
  const seeded = (i: number) => ({kernelInitializer: tfl.initializers.randomUniform({minval: -0.5, maxval: 0.5, seed: i}), biasInitializer: tfl.initializers.randomUniform({minval: -0.1, maxval: 0.1, seed: 100 + i})})
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor
  const a = apply(tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', activation: 'elu', ...seeded(1)}), input)
  const b = apply(tfl.layers.leakyReLU({alpha: 0.2}), apply(tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', ...seeded(2)}), input))
  const gated = apply(tfl.layers.multiply(), [a, apply(tfl.layers.activation({activation: 'sigmoid'}), b)])
  const joined = apply(tfl.layers.concatenate({axis: -1}), [gated, apply(tfl.layers.activation({activation: 'tanh'}), b)])
  const pooled = apply(tfl.layers.averagePooling2d({poolSize: 2, strides: 2}), apply(tfl.layers.dropout({rate: 0.5}), joined))
  const hidden = apply(tfl.layers.dense({units: 6, activation: 'selu', ...seeded(3)}), apply(tfl.layers.flatten(), pooled))
  const mixed = apply(tfl.layers.dense({units: 5, activation: 'softplus', ...seeded(4)}), apply(tfl.layers.dense({units: 6, activation: 'relu6', ...seeded(5)}), hidden))
  const model = tfl.model({inputs: input, outputs: apply(tfl.layers.dense({units: 4, activation: 'softmax', ...seeded(6)}), mixed)})
  const dir = tempDir()
  try {
    const files = tfjsGraphModel(model, {}, 'test')
    mkdirSync(join(dir, 'stock'))
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'stock', name), content)
    const ops = new Set<string>(JSON.parse(files['model.json'] as string).modelTopology.node.map((n: {op: string}) => n.op))
    for (const op of ['Elu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Mul', 'ConcatV2', 'AvgPool', 'Selu', 'Softplus', 'Relu6', 'Softmax']) assert.ok(ops.has(op), `${op} in the graph`)
    const image = testImages(8)
    const expected = tf.tidy(() => Array.from((model.predict(tf.tensor(image.values, image.shape)) as tf.Tensor).dataSync()))
    const [result] = await inStockTfjs(dir, [{name: 'stock', url: 'stock/model.json', input: image, expected}])
    assert.equal(result.logits.length, expected.length)
    assert.ok(maxRelDiff(result.logits, expected) <= TOLERANCE, `stock tfjs outputs differ from the model's by ${maxRelDiff(result.logits, expected)}`)
  } finally {
    model.dispose()
  }
})

test("docs/export.md lists every tfjs layer the export writes, and no other", () => {
  const text = readFileSync(join(REPO, 'docs', 'export.md'), 'utf8').replace(/\s+/g, ' ')
  const listed = /\*\*tfjs's own layers a plugin may use\*\* export too: ([^;]+);/.exec(text)?.[1]
  assert.ok(listed, "docs/export.md has the list of tfjs's own layers")
  assert.deepEqual(listed.split(', ').sort(), EXPORTABLE_LAYERS.filter((n) => !n.startsWith('Mixture')).sort())
})

test('a layer class with no stock-op form stops the export, naming the class and its layers', () => {
  class Cube extends tfl.layers.Layer {
    static className = 'PluginCube'
    call(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
      const t = Array.isArray(x) ? x[0] : x
      return tf.mul(t, tf.mul(t, t))
    }
  }
  const input = tfl.input({shape: [4]})
  const cubed = new Cube({name: 'my_cube'}).apply(input) as tfl.SymbolicTensor
  const model = tfl.model({inputs: input, outputs: tfl.layers.dense({units: 2, name: 'fc'}).apply(cubed) as tfl.SymbolicTensor})
  try {
    assert.throws(
      () => layerGraph(model),
      (error: Error) => error instanceof ExportError && /PluginCube \(1 layer, e\.g\. my_cube\)/.test(error.message) && /--format safetensors/.test(error.message),
    )
  } finally {
    model.dispose()
  }
})
