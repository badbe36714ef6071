/**
 * Paper rows at their real sizes through both exports: each row's model with seeded weights (norm
 * parameters and BatchNorm statistics away from their defaults) saved as a run's best.ckpt, exported
 * as tfjs and safetensors (seconds, megabytes, shards), then the tfjs graphs run in plain
 * @tensorflow/tfjs in another Node process (its cpu backend) and the safetensors loaded into the
 * PyTorch reference models (Debian's /usr/bin/python3 with torch), each on 2 images; prints the
 * largest logit difference from the project's, relative to the logits' scale. Prints measured
 * numbers; asserts nothing.
 *
 *   node dist/bench/export.js [configs/paper/<table>/<row> ...]   (default: one row of each architecture)
 */
import {execFile} from 'node:child_process'
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {resolveSpec} from '../src/config/resolve.js'
import {tf} from '../src/engine/tf.js'
import {exportRun} from '../src/export/export-run.js'
import {openRun} from '../src/run/load-run.js'
import {makeRun, maxRelDiff, serveFolder, testImages} from '../test/export/helpers.js'
import {REPO, tempDir} from '../test/helpers.js'

const DEFAULT_ROWS = ['cifar10/alternating-1block', 'cifar10/joint-2block', 'cifar10/vit', 'cifar10/resnet18', 'stl10-perceiver/perceiver-baseline', 'stl10-perceiver/alternating-2block', 'stl10-perceiver/joint-2block', 'stl10-perceiver/cnn'].map((r) => `configs/paper/${r}.yaml`)
const run = promisify(execFile)
const megabytes = (dir: string) => (readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0) / 2 ** 20).toFixed(1)
const seconds = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(2))

const rows = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_ROWS
const dir = tempDir('mixture-bench-export-')
const lines: Record<string, unknown>[] = []
const tfjsJobs: {url: string; input: {shape: number[]; values: number[]}}[] = []
const torchJobs: {file: string; input: {shape: number[]; values: number[]}}[] = []
const expected: number[][] = []
for (const row of rows) {
  const {spec} = await resolveSpec(resolve(row))
  const name = row.replace(/^.*paper\//, '').replace(/\.yaml$/, '').replace('/', '-')
  const folder = await makeRun(dir, name, spec)
  let t0 = performance.now()
  const graph = await exportRun({run: folder, format: 'tfjs'})
  const tfjsSeconds = seconds(t0)
  t0 = performance.now()
  const weights = await exportRun({run: folder, format: 'safetensors'})
  const safetensorsSeconds = seconds(t0)
  const input = testImages(spec.data.image_size)
  const opened = await openRun(folder, {backend: 'cpu'})
  expected.push(tf.tidy(() => Array.from((opened.built.model.apply(tf.tensor(input.values, input.shape), {training: false}) as tf.Tensor).dataSync())))
  lines.push({row: name, params: opened.built.params, tfjs_s: tfjsSeconds, tfjs_mb: megabytes(graph.out_dir), shards: graph.files.filter((f) => f.endsWith('.bin')).length, safetensors_s: safetensorsSeconds, safetensors_mb: megabytes(weights.out_dir), torch_class: weights.torch?.builder ?? `none (${weights.reason})`})
  opened.dispose()
  tfjsJobs.push({url: `${name}/export/tfjs-best/model.json`, input})
  torchJobs.push({file: join(weights.out_dir, 'model.safetensors'), input})
}

const {url, server} = await serveFolder(dir)
writeFileSync(join(dir, 'tfjs-job.json'), JSON.stringify({models: tfjsJobs.map((j) => ({...j, url: `${url}/${j.url}`}))}))
let t0 = performance.now()
await run(process.execPath, [join(REPO, 'test', 'fixtures', 'export', 'stock-tfjs.mjs'), join(dir, 'tfjs-job.json'), join(dir, 'tfjs-result.json')], {maxBuffer: 1 << 26})
const stockSeconds = seconds(t0)
server.close()
writeFileSync(join(dir, 'torch-job.json'), JSON.stringify({models: torchJobs}))
t0 = performance.now()
await run('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'load_safetensors.py'), '--job', join(dir, 'torch-job.json'), join(dir, 'torch-result.json')], {maxBuffer: 1 << 26})
const torchSeconds = seconds(t0)
const stock = JSON.parse(readFileSync(join(dir, 'tfjs-result.json'), 'utf8')).results as {logits: number[]}[]
const torch = JSON.parse(readFileSync(join(dir, 'torch-result.json'), 'utf8')).results as {logits: number[]}[]
lines.forEach((line, i) => console.log(JSON.stringify({...line, stock_tfjs_rel_diff: maxRelDiff(stock[i].logits, expected[i]), torch_rel_diff: maxRelDiff(torch[i].logits, expected[i])})))
console.log(`plain @tensorflow/tfjs (cpu backend), every row in one process: ${stockSeconds} s; PyTorch, load + forward of every row: ${torchSeconds} s`)
