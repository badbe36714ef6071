// `mixture run` as a process: backend line first, --json leaves exactly one document, Ctrl-C exits 130.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {REPO, tempDir, writeSpec} from '../helpers.js'

const spec = (epochs: number) => ({
  name: 'cli-run',
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}},
  model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]},
  train: {epochs, batch_size: 16},
})
const env = {...process.env, NO_COLOR: '1', MIXTURE_BACKEND: 'cpu'}

test('run --json: stdout is one JSON summary; stderr starts with the backend line and has one line per epoch', () => {
  const dir = tempDir()
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(spec(2), dir), '--json', '--out', join(dir, 'results')], {encoding: 'utf8', env})
  assert.equal(r.status, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.status, 'completed')
  assert.equal(doc.epochs_completed, 2)
  assert.match(r.stderr.split('\n')[0], /^backend: cpu — /)
  assert.equal(r.stderr.split('\n').filter((l) => /^epoch \d+\/2 /.test(l)).length, 2)
})

test('missing dataset files: exit 2, the message says which files go where, nothing written', () => {
  const dir = tempDir()
  const s = {...spec(1), data: {dataset: 'cifar10', image_size: 32}}
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(s, dir), '--data-dir', dir, '--out', join(dir, 'results')], {encoding: 'utf8', env: {...env, MIXTURE_DATA: '', XDG_CACHE_HOME: dir}})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /data_batch_1\.bin/)
  assert.match(r.stderr, /--data-dir/)
  assert.ok(!existsSync(join(dir, 'results')), 'no run folder for a run that could not start')
})

test('Ctrl-C keeps the last finished epoch and exits 130; --resume continues to the uninterrupted numbers', async () => {
  const dir = tempDir()
  const long = {...spec(4), data: {...spec(4).data, synthetic: {train: 64, test: 16, classes: 3}}}
  const full = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(long, dir, 'full.yaml'), '--out', join(dir, 'full')], {encoding: 'utf8', env})
  assert.equal(full.status, 0, full.stderr)
  const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(long, dir), '--out', join(dir, 'results')], {env})
  let stderr = ''
  let sent = false
  child.stderr.on('data', (d) => {
    stderr += d
    if (!sent && /epoch 1\/4/.test(stderr)) {
      sent = true
      child.kill('SIGINT')
    }
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  assert.equal(code, 130, stderr)
  const runDir = /run folder: (.*)/.exec(stderr)![1].trim()
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'interrupted')
  assert.ok(summary.epochs_completed >= 1 && summary.epochs_completed < 4, `${summary.epochs_completed} epochs`)
  assert.ok(existsSync(join(runDir, 'last.ckpt')))
  assert.match(stderr, /mixture run --resume/)
  const refused = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--resume', runDir, '--set', 'train.epochs=3'], {encoding: 'utf8', env})
  assert.equal(refused.status, 2, 'overrides are refused with --resume')
  const resumed = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--resume', runDir], {encoding: 'utf8', env})
  assert.equal(resumed.status, 0, resumed.stderr)
  assert.match(resumed.stderr, new RegExp(`resuming .* after epoch ${summary.epochs_completed}`))
  const numbers = (d: string) => readFileSync(join(d, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 5).join(','))
  assert.deepEqual(numbers(runDir), numbers(/run folder: (.*)/.exec(full.stdout)![1].trim()), 'every epoch has the uninterrupted numbers')
})
