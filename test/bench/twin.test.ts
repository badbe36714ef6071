// The parity tools run: bench/torch/parity.js resolves a spec with the built-ins registered and
// trains ours; the PyTorch twin (bench/torch/train.py) trains a recipe past the paper's and refuses
// what it cannot train as the spec says (exit 2) rather than training something else.
import {test as plainTest} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {REPO, tempDir, writeSpec} from '../helpers.js'
import {needing, skipUnless, torchMissing} from '../require.js'

const {test} = needing('torch', torchMissing())

const tiny = {name: 'twin', seed: 3, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}, train: {epochs: 1, batch_size: 16}}

plainTest('npm run parity trains our side of a spec (--only ours)', () => {
  const dir = tempDir()
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'bench', 'torch', 'parity.js'), writeSpec(tiny, dir), '--seeds', '1', '--only', 'ours', '--out', join(dir, 'out'), '--backend', 'cpu'], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout + r.stderr, /\[ours s3\] epoch 1\/1 /)
})

test('the twin refuses a spec it would train otherwise: a plugin file\'s optimizer, early stopping, a validation hold-out', () => {
  const dir = tempDir()
  const plugin = join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs')
  const spec = writeSpec({...tiny, plugins: [plugin], data: {...tiny.data, val_split: 0.25}, train: {...tiny.train, optimizer: {type: 'rmsprop'}, early_stopping: {patience: 2}}}, dir)
  const r = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'train.py'), spec, '--out', join(dir, 'out')], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the PyTorch twin cannot train train\.optimizer\.type rmsprop \(the twin has adam, adamw, sgd\), train\.early_stopping, data\.val_split \(the twin trains on the whole training split\)$/m)
})

test('the twin refuses a training it would run otherwise: a plugin file\'s loss, gradient accumulation, frozen weights', () => {
  const dir = tempDir()
  const plugin = join(REPO, 'configs', 'examples', 'plugins', 'focal-loss.mjs')
  const spec = writeSpec({...tiny, plugins: [plugin], train: {...tiny.train, loss: 'focal', accumulate_grad_batches: 2, freeze: ['head_*']}}, dir)
  const r = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'train.py'), spec, '--out', join(dir, 'out')], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the PyTorch twin cannot train train\.loss focal \(the twin has cross_entropy\), train\.accumulate_grad_batches, train\.freeze$/m)
})

const fashionDir = '/usr/share/datasets/fashion-mnist'
const fashionSkip = skipUnless('fashion_mnist', existsSync(join(fashionDir, 'train-images-idx3-ubyte.gz')) ? false : `${fashionDir} is absent`)

test('the twin trains the spec\'s recipe: SGD with decay groups, cosine after warmup, smoothing, clipping, the list form of data.augment (normalize on evaluation too)', {skip: fashionSkip}, () => {
  const dir = tempDir()
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(REPO, 'bench', 'torch', 'train.py'), join(REPO, 'configs', 'quickstart.yaml'), '--epochs', '2', '--run-dir', join(dir, 'run'),
      '--set', 'data.train_limit=256', '--set', 'data.test_limit=128',
      '--set', 'train.optimizer={type: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 5.0e-4, weight_decay_exclude: [bias, norm]}',
      '--set', 'train.schedule={type: cosine, warmup_epochs: 1}', '--set', 'train.label_smoothing=0.1', '--set', 'train.grad_clip={max_norm: 5}',
      '--set', 'data.augment=[{type: random_crop, padding: 2, padding_mode: reflect}, hflip, {type: color_jitter, brightness: 0.3, contrast: 0.3}, {type: normalize, mean: 0.286, std: 0.353}, {type: random_erasing, p: 0.25}]',
    ],
    {cwd: REPO, encoding: 'utf8', timeout: 300_000},
  )
  assert.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'completed')
  assert.equal(summary.epochs_completed, 2)
  // Ten classes: above chance after two short epochs means the recipe trains.
  assert.ok(summary.best_test_accuracy > 0.2, `best test accuracy ${summary.best_test_accuracy}`)
})

test("the twin trains train.ema as timm's model EMA: decay 0 scores exactly the weights (the run without it), decay 0.9 another model", {skip: fashionSkip}, () => {
  const dir = tempDir()
  /** The twin's test columns (loss, accuracy) per epoch, and its train columns, for `ema`. */
  const twin = (name: string, ema?: Record<string, unknown>) => {
    const sets = ['data.train_limit=128', 'data.test_limit=64', ...(ema ? [`train.ema=${JSON.stringify(ema)}`] : [])].flatMap((set) => ['--set', set])
    const r = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'train.py'), join(REPO, 'configs', 'quickstart.yaml'), '--epochs', '2', '--run-dir', join(dir, name), '--threads', '1', ...sets], {cwd: REPO, encoding: 'utf8', timeout: 120_000})
    assert.equal(r.status, 0, r.stderr)
    const rows = readFileSync(join(dir, name, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
    return {train: rows.map((c) => c.slice(1, 3).join()), test: rows.map((c) => c.slice(3, 5).join())}
  }
  const plain = twin('plain')
  const zero = twin('zero', {decay: 0})
  assert.deepEqual(zero, plain)
  const averaged = twin('averaged', {decay: 0.9, warmup: true})
  assert.deepEqual(averaged.train, plain.train, 'the average does not touch training')
  assert.notDeepEqual(averaged.test, plain.test)
})

test("the twin trains train.mixup as timm's Mixup and SoftTargetCrossEntropy (every mode's mixing pinned by recipe.json)", {skip: fashionSkip}, () => {
  const dir = tempDir()
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(REPO, 'bench', 'torch', 'train.py'), join(REPO, 'configs', 'quickstart.yaml'), '--epochs', '2', '--run-dir', join(dir, 'run'),
      '--set', 'data.train_limit=256', '--set', 'data.test_limit=128', '--set', 'train.label_smoothing=0.1', '--set', 'train.optimizer={type: sgd, lr: 0.05, momentum: 0.9}',
      '--set', 'train.mixup={mixup_alpha: 0.8, cutmix_alpha: 1.0, mode: elem, off_epoch: 1}',
    ],
    {cwd: REPO, encoding: 'utf8', timeout: 300_000},
  )
  assert.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8'))
  assert.equal(summary.epochs_completed, 2)
  assert.ok(summary.best_test_accuracy > 0.2, `best test accuracy ${summary.best_test_accuracy}`)
})

test("the twin trains the list form's other transforms and the automatic policies (torchvision's, the policies on uint8 pixels)", {skip: fashionSkip}, () => {
  const dir = tempDir()
  const augment = '[{type: random_resized_crop, scale: [0.5, 1.0]}, vflip, {type: random_rotation, degrees: 10, fill: [10, 20, 30]}, random_grayscale, trivial_augment_wide, {type: rand_augment, num_ops: 1}, {type: auto_augment, policy: svhn}]'
  const r = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'torch', 'train.py'), join(REPO, 'configs', 'quickstart.yaml'), '--epochs', '1', '--run-dir', join(dir, 'run'), '--set', 'data.train_limit=128', '--set', 'data.test_limit=64', '--set', `data.augment=${augment}`], {cwd: REPO, encoding: 'utf8', timeout: 300_000})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')).epochs_completed, 1)
})
