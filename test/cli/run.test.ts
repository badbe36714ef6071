// `mixture run` as a process: backend line first, --json leaves exactly one document, Ctrl-C exits 130.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'
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
  // A dry run builds and counts the model all the same, and says where the run would stop.
  const dry = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(s, dir), '--data-dir', dir, '--dry-run'], {encoding: 'utf8', env: {...env, MIXTURE_DATA: ''}})
  assert.equal(dry.status, 0, dry.stderr)
  assert.match(dry.stderr, /^note: the run would stop here: Dataset 'cifar10' is not in the data directory given .*data_batch_1\.bin/m)
})

test('a dry run says where its data are', () => {
  const dir = tempDir()
  const s = {...spec(1), data: {dataset: 'cifar10', image_size: 32}}
  const folder = join(dir, 'cifar-10-batches-bin')
  mkdirSync(folder)
  for (const f of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) writeFileSync(join(folder, f), '')
  const dry = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(s, dir), '--data-dir', dir, '--dry-run'], {encoding: 'utf8', env})
  assert.equal(dry.status, 0, dry.stderr)
  assert.match(dry.stderr, new RegExp(`^data: cifar10 in ${folder}$`, 'm'))
})

test('a backend asked for by name that cannot run here is exit 2, saying why and what to use instead, nothing written', () => {
  const dir = tempDir()
  // The tensorflow backend needs @tensorflow/tfjs-node(-gpu), an optional package; a name this machine lacks either way.
  const missing = existsSync(join(REPO, 'node_modules', '@tensorflow', 'tfjs-node')) || existsSync(join(REPO, 'node_modules', '@tensorflow', 'tfjs-node-gpu')) ? 'webgpu' : 'tensorflow'
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(spec(1), dir), '--backend', missing, '--out', join(dir, 'results')], {encoding: 'utf8', env: {...env, MIXTURE_WEBGPU_ALLOW_SOFTWARE: '0', VK_ICD_FILENAMES: join(dir, 'none.json')}})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`backend "${missing}" is not available here \\(.+\\)\\. Use --backend auto`))
  assert.doesNotMatch(r.stderr, /--debug/)
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

test('a run folder that cannot be made is exit 2 before the data loads, saying why; --resume of no folder is exit 2', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'results'), 'a file where the results folder belongs')
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(spec(1), dir), '--out', join(dir, 'results')], {encoding: 'utf8', env})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /cannot make run folders in .*results.cli-run: a file stands where a folder of that path belongs \((EEXIST|ENOTDIR)\); give another folder with --out/)
  assert.doesNotMatch(r.stderr, /synthetic: |--debug/)
  const missing = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--resume', join(dir, 'nope')], {encoding: 'utf8', env})
  assert.equal(missing.status, 2, missing.stderr)
  assert.match(missing.stderr, /No directory found at .*nope/)
})

test('config.yaml records the backend --backend or MIXTURE_BACKEND chose, so that running it again asks for it too', () => {
  const dir = tempDir()
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec(spec(1), dir), '--out', join(dir, 'results')], {encoding: 'utf8', env})
  assert.equal(r.status, 0, r.stderr)
  const runDir = /run folder: (.*)/.exec(r.stderr)![1].trim()
  const config = parseYaml(readFileSync(join(runDir, 'config.yaml'), 'utf8'))
  assert.equal(config.engine.backend, 'cpu')
  const {MIXTURE_BACKEND: _asked, ...withoutBackend} = env
  const again = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', join(runDir, 'config.yaml'), '--out', join(dir, 'again')], {encoding: 'utf8', env: withoutBackend})
  assert.equal(again.status, 0, again.stderr)
  assert.match(again.stderr, /^backend: cpu — (?!.*\[auto\])/m)
})

test('a run that diverges in its first epoch says no checkpoint was kept; eval of it says to start anew', () => {
  const dir = tempDir()
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'run', writeSpec({...spec(2), train: {epochs: 2, batch_size: 16, metrics_every: 1, optimizer: {lr: 1e30}}}, dir), '--out', join(dir, 'results')], {encoding: 'utf8', env})
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /loss became NaN in epoch 1 .*; the run stopped\. Lower train\.optimizer\.lr .*\. No checkpoint was written before it\./)
  const runDir = /run folder: (.*)/.exec(r.stderr)![1].trim()
  const evaluated = spawnSync(process.execPath, [join(REPO, 'bin/run.js'), 'eval', runDir], {encoding: 'utf8', env})
  assert.equal(evaluated.status, 2, evaluated.stderr)
  assert.match(evaluated.stderr, /has no checkpoint: the run stopped before its first epoch finished, so there is nothing to use; train it anew with mixture run .*config\.yaml/)
})
