// mixture eval of a run trained on webgpu, in a new process: the backend and the kernel routes the
// run took (kernel-routes.json, timed on its first batch) are used again, so the test numbers (and the
// validation split's) equal metrics.csv's.
import assert from 'node:assert/strict'
import {cpSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {readMetricsFile} from '../../src/run/metrics-file.js'
import {mixture, tempDir, writeSpec} from '../helpers.js'
import {needing} from '../require.js'
import {webgpuUnavailable} from '../backends/paper-rows.js'

const {it} = needing('webgpu', await webgpuUnavailable('webgpu eval tests'))

it('a webgpu run evaluates to the numbers training wrote, on the test and validation splits, with its kernel routes pinned', () => {
  const dir = tempDir()
  const spec = writeSpec({
    name: 'tiny-gpu',
    seed: 3,
    data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 40, classes: 3}, val_split: 0.25},
    model: {type: 'mixture', block: 'alternating', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 4, mlp_dim: 8}]},
    train: {epochs: 2, batch_size: 32},
    engine: {backend: 'webgpu'},
  }, dir)
  const trained = mixture(['run', spec, '--out', join(dir, 'results')], {timeoutMs: 300_000})
  assert.equal(trained.code, 0, trained.stderr)
  const run = join(dir, 'results', 'tiny-gpu', readdirSync(join(dir, 'results', 'tiny-gpu'))[0])
  const r = mixture(['eval', run, '--ckpt', 'last', '--json'], {timeoutMs: 300_000})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /kernel routes: \d+ calls pinned from .*kernel-routes\.json/)
  const doc = JSON.parse(r.stdout)
  const row = readMetricsFile(run).rows.at(-1)!
  assert.equal(doc.backend, 'webgpu')
  assert.deepEqual([doc.loss, doc.accuracy], [row.test_loss, row.test_accuracy])
  assert.equal(doc.training.equal, true)
  const val = JSON.parse(mixture(['eval', run, '--ckpt', 'last', '--split', 'val', '--json'], {timeoutMs: 300_000}).stdout)
  assert.deepEqual([val.examples, val.loss, val.accuracy, val.training.equal], [24, row.val_loss, row.val_accuracy, true])
  // Without the routes file nothing is pinned (the kernels are then the backend's defaults).
  const copy = join(dir, 'copy')
  cpSync(run, copy, {recursive: true})
  rmSync(join(copy, 'kernel-routes.json'))
  const unpinned = mixture(['eval', copy, '--ckpt', 'last', '--json'], {timeoutMs: 300_000})
  assert.equal(unpinned.code, 0, unpinned.stderr)
  assert.doesNotMatch(unpinned.stderr, /kernel routes: .* pinned/)
  // A resume without it says that the routes are timed again, and what that may change.
  const resumed = mixture(['run', '--resume', copy], {timeoutMs: 300_000, env: {MIXTURE_BACKEND: undefined}})
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.match(resumed.stderr, /kernel routes: .*kernel-routes\.json is missing, so they are timed again before the first step; .* \(restore the file to pin them\)/)
})
