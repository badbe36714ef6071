// The parity tools run: bench/torch/parity.js resolves a spec with the built-ins registered and
// trains ours, and the PyTorch twin (bench/torch/train.py) refuses what it cannot train as the spec
// says (exit 2) rather than training something else.
import {test as plainTest} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {REPO, tempDir, writeSpec} from '../helpers.js'
import {needing, torchMissing} from '../require.js'

const {test} = needing('torch', torchMissing())

const tiny = {name: 'twin', seed: 3, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}, train: {epochs: 1, batch_size: 16}}

plainTest('npm run parity trains our side of a spec (--only ours)', () => {
  const dir = tempDir()
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'bench', 'torch', 'parity.js'), writeSpec(tiny, dir), '--seeds', '1', '--only', 'ours', '--out', join(dir, 'out'), '--backend', 'cpu'], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout + r.stderr, /\[ours s3\] epoch 1\/1 /)
})

test('the twin refuses a spec it would train otherwise: early stopping, data.augment as a list, a plugin file\'s optimizer', () => {
  const dir = tempDir()
  const plugin = join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs')
  const spec = writeSpec({...tiny, plugins: [plugin], data: {...tiny.data, augment: ['hflip']}, train: {...tiny.train, optimizer: {type: 'rmsprop'}, early_stopping: {patience: 2}}}, dir)
  const r = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'train.py'), spec, '--out', join(dir, 'out')], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the PyTorch twin cannot train train\.optimizer\.type rmsprop \(the twin has adam, adamw, sgd\), train\.early_stopping, data\.augment as a list of transforms/)
})
