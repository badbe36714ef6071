// The training recipe end to end on tiny synthetic data: the standard CIFAR example validates and
// runs; metrics.csv holds each epoch's learning rate; an interrupted SGD + cosine-warmup run (clipped,
// label-smoothed) resumes to exactly the uninterrupted numbers and checkpoint; early stopping stops,
// says why and stays stopped on resume; a plugin's schedule and a plugin's optimizer train and
// resume; a run folder from before the lr column resumes.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {createSchedule} from '../../src/recipe/schedule.js'
import {readCheckpoint} from '../../src/run/checkpoint.js'
import {mixture, REPO, tempDir, writeSpec} from '../helpers.js'
import {interrupted} from './helpers.js'

const quiet = () => {}

/** 96 synthetic images in batches of 16: 6 steps an epoch. */
const spec = (train: Record<string, unknown>) => ({
  name: 'recipe',
  seed: 11,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 32, classes: 3}},
  model: {type: 'mixture', block: 'joint', components: [{type: 'cnn', channels: [4, 3]}, {type: 'cnn', channels: [3]}], norm: {type: 'batchnorm'}},
  train: {epochs: 4, batch_size: 16, metrics_every: 2, ...train},
  engine: {backend: 'cpu'},
})

function metrics(dir: string): Record<string, number>[] {
  const [header, ...rows] = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keys = header.split(',')
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v === '' ? NaN : Number(v)])))
}

const numbers = (rows: Record<string, number>[]) => rows.map((r) => [r.epoch, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, r.lr])

/** A checkpoint's tensors (weights, then the optimizer's state), for exact comparison. */
function tensors(file: string): Record<string, number[]> {
  const ckpt = readCheckpoint(file)
  return {
    ...Object.fromEntries([...ckpt.weights].map(([name, values]) => [name, [...values]])),
    ...Object.fromEntries(Object.entries(ckpt.state).flatMap(([group, list]) => list!.map((values, i) => [`${group}/${i}`, [...values]]))),
  }
}

test('the standard CIFAR recipe example validates and runs (SGD, Nesterov, cosine after warmup, crop + flip + normalise)', async () => {
  const dir = tempDir()
  const example = join(REPO, 'configs', 'examples', 'cifar10-sgd-cosine.yaml')
  const result = (await runExperiment({
    spec: example,
    outDir: join(dir, 'r'),
    backend: 'cpu',
    overrides: ['data.dataset=synthetic', 'data.synthetic={train: 64, test: 16, classes: 10}', 'data.image_size=8', 'model.layers=[1, 1]', 'model.widths=[4, 8]', 'train.epochs=6', 'train.batch_size=16'],
    log: quiet,
  })) as RunSummary
  assert.equal(result.status, 'completed')
  const rows = metrics(result.run_dir)
  assert.equal(rows.length, 6)
  const schedule = createSchedule({type: 'cosine', warmup_epochs: 5, warmup_start_factor: 0.01, min_lr: 0}, 0.1, 6, 4)
  assert.deepEqual(rows.map((r) => r.lr), [0, 1, 2, 3, 4, 5].map((e) => schedule.lrAt(e * 4)))
  assert.equal(rows[0].lr, 0.001, 'the warmup starts at lr · 0.01')
  assert.equal(rows[5].lr, 0.1, 'and reaches the peak after 5 epochs')
  assert.ok(rows.every((r) => Number.isFinite(r.train_loss) && Number.isFinite(r.test_loss)))
  const last = readCheckpoint(join(result.run_dir, 'last.ckpt'), 'last')
  assert.equal(last.meta.optimizer, 'sgd')
  assert.equal(last.state.momentum?.length, last.tensors.filter((t) => t.group === 'momentum').length)
  assert.equal(last.state.adam_m, undefined, 'SGD keeps its momentum buffers, no Adam moments')
  assert.deepEqual(last.meta.schedule, {type: 'cosine', steps_per_epoch: 4, next_step: 24, next_lr: schedule.lrAt(24)})
})

test('the own-recipe example validates and runs: RMSprop and an exponential decay after warmup, from its plugin files', async () => {
  const dir = tempDir()
  const example = join(REPO, 'configs', 'examples', 'own-recipe.yaml')
  const valid = mixture(['validate', example, '--json'])
  assert.equal(valid.code, 0, valid.stderr)
  const {optimizer, schedule} = JSON.parse(valid.stdout).spec.train
  assert.deepEqual(optimizer, {type: 'rmsprop', lr: 0.001, alpha: 0.99, eps: 1e-8, weight_decay: 1e-4, weight_decay_exclude: ['bias', 'norm']})
  assert.deepEqual(schedule, {type: 'exponential', gamma: 0.7, warmup_epochs: 1, warmup_start_factor: 0.01})
  const result = (await runExperiment({
    spec: example,
    outDir: join(dir, 'r'),
    backend: 'cpu',
    // Small: 8×8 images (the token adapter then wants 64-wide tokens), 3 epochs.
    overrides: ['data.dataset=synthetic', 'data.synthetic={train: 64, test: 16, classes: 10}', 'data.image_size=8', 'model.components[0].channels=[4, 3]', 'model.components[1].dim=64', 'model.components[1].mlp_dim=64', 'train.batch_size=16', 'train.epochs=3'],
    log: quiet,
  })) as RunSummary
  assert.equal(result.status, 'completed')
  const lrs = metrics(result.run_dir).map((r) => r.lr)
  assert.equal(lrs.length, 3)
  // A warmup epoch from lr · 0.01, then lr · 0.7^epoch with epochs counted from the warmup's end.
  ;[1e-5, 0.001, 0.0007].forEach((want, i) => assert.ok(Math.abs(lrs[i] - want) < 1e-15, `epoch ${i + 1}: lr ${lrs[i]}, not ${want}`))
})

test('an interrupted SGD + cosine-warmup run resumes to exactly the uninterrupted numbers and checkpoint', async () => {
  const dir = tempDir()
  const recipe = {
    optimizer: {type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 5e-4, weight_decay_exclude: ['bias', 'norm']},
    schedule: {type: 'cosine', warmup_epochs: 1, min_lr: 0.001},
    grad_clip: {max_norm: 1},
    label_smoothing: 0.1,
  }
  const file = writeSpec(spec(recipe), dir)
  const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: quiet})) as RunSummary
  const runDir = await interrupted(file, join(dir, 'cut'), /^epoch 2\/4/)
  assert.equal(metrics(runDir).length, 2)
  const resumed = (await runExperiment({resume: runDir, log: quiet})) as RunSummary
  assert.equal(resumed.status, 'completed')
  const rows = metrics(runDir)
  assert.deepEqual(numbers(rows), numbers(metrics(full.run_dir)), 'every epoch, digit for digit')
  assert.ok(rows[0].lr < rows[1].lr && rows[1].lr > rows[3].lr, `warmup, then cosine: ${rows.map((r) => r.lr)}`)
  assert.deepEqual(tensors(join(runDir, 'last.ckpt')), tensors(join(full.run_dir, 'last.ckpt')), 'weights and momentum buffers')
})

test('a plugin file adds a schedule: validated with the warmup keys, trained at its rates, resumed by a new process exactly', async () => {
  const dir = tempDir()
  const plugin = join(REPO, 'configs', 'examples', 'plugins', 'exponential-lr.mjs')
  const withPlugin = (schedule: unknown, name = 'spec.yaml') => writeSpec({...spec({optimizer: {lr: 0.01}, schedule}), plugins: [plugin]}, dir, name)
  const file = withPlugin({type: 'exponential', gamma: 0.5, warmup_epochs: 1, warmup_start_factor: 0.1})
  const valid = mixture(['validate', file, '--json'])
  assert.equal(valid.code, 0, valid.stderr)
  assert.deepEqual(JSON.parse(valid.stdout).spec.train.schedule, {type: 'exponential', gamma: 0.5, warmup_epochs: 1, warmup_start_factor: 0.1})
  const bad = mixture(['validate', withPlugin({type: 'exponential', gamma: 1}, 'bad.yaml')])
  assert.equal(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /bad\.yaml:\d+:\d+: train\.schedule\.gamma: is 1: the rate would never change; use schedule: constant/)
  const missing = mixture(['validate', withPlugin({type: 'exponential'}, 'missing.yaml')])
  assert.match(missing.stderr, /train\.schedule\.gamma: .*required/)
  // Trained whole in this process, and cut after epoch 2 and resumed by a spawned mixture that loads the plugin again.
  const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: quiet})) as RunSummary
  assert.deepEqual(metrics(full.run_dir).map((r) => r.lr), [0.001, 0.01, 0.005, 0.0025], 'warmup epoch at lr · 0.1, then 0.01 · 0.5^epoch counted from its end')
  const runDir = await interrupted(file, join(dir, 'cut'), /^epoch 2\/4/)
  const resumed = mixture(['run', '--resume', runDir])
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.deepEqual(numbers(metrics(runDir)), numbers(metrics(full.run_dir)), 'every epoch, digit for digit')
  assert.deepEqual(tensors(join(runDir, 'last.ckpt')), tensors(join(full.run_dir, 'last.ckpt')))
})

test('a plugin file adds an optimizer: validated with the shared keys, trained, checkpointed with its state, resumed by a new process exactly', async () => {
  const dir = tempDir()
  const plugin = join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs')
  const withPlugin = (optimizer: unknown, name = 'spec.yaml') => writeSpec({...spec({optimizer, schedule: {type: 'step', step_size: 2, gamma: 0.5}}), plugins: [plugin]}, dir, name)
  const file = withPlugin({type: 'rmsprop', lr: 0.003, weight_decay: 1e-4, weight_decay_exclude: ['bias', 'norm']})
  const valid = mixture(['validate', file, '--json'])
  assert.equal(valid.code, 0, valid.stderr)
  assert.deepEqual(JSON.parse(valid.stdout).spec.train.optimizer, {type: 'rmsprop', lr: 0.003, weight_decay: 1e-4, weight_decay_exclude: ['bias', 'norm'], alpha: 0.99, eps: 1e-8})
  const bad = mixture(['validate', withPlugin({type: 'rmsprop', alpha: 1, betas: [0.9, 0.99]}, 'bad.yaml')])
  assert.equal(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /bad\.yaml:\d+:\d+: train\.optimizer\.betas: applies to adam and adamw only, not to rmsprop; remove it, or set train\.optimizer\.type/)
  assert.match(bad.stderr, /train\.optimizer\.alpha: must be < 1/)
  const typo = mixture(['validate', withPlugin({type: 'rmsprp'}, 'typo.yaml')])
  assert.match(typo.stderr, /train\.optimizer\.type: unknown optimizer "rmsprp", did you mean rmsprop\?; registered: adam, adamw, sgd, rmsprop/)
  const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: quiet})) as RunSummary
  const rows = metrics(full.run_dir)
  assert.deepEqual(rows.map((r) => r.lr), [0.003, 0.003, 0.0015, 0.0015])
  assert.ok(rows.every((r) => Number.isFinite(r.train_loss)) && rows[3].train_loss < rows[0].train_loss, `it trains: ${rows.map((r) => r.train_loss)}`)
  const last = readCheckpoint(join(full.run_dir, 'last.ckpt'), 'last')
  assert.equal(last.meta.optimizer, 'rmsprop')
  assert.deepEqual(Object.keys(last.state), ['rmsprop_square_avg'])
  // Cut after epoch 2, resumed by a spawned mixture that loads the plugin again from the run's config.yaml.
  const runDir = await interrupted(file, join(dir, 'cut'), /^epoch 2\/4/)
  const resumed = mixture(['run', '--resume', runDir])
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.deepEqual(numbers(metrics(runDir)), numbers(rows), 'every epoch, digit for digit')
  assert.deepEqual(tensors(join(runDir, 'last.ckpt')), tensors(join(full.run_dir, 'last.ckpt')), 'weights and square averages')
})

test('a resume that would move the schedule is refused before anything is written', async () => {
  const dir = tempDir()
  const file = writeSpec(spec({optimizer: {type: 'adamw', lr: 0.01}, schedule: {type: 'onecycle'}, epochs: 2}), dir)
  const run = (await runExperiment({spec: file, outDir: join(dir, 'r'), log: quiet})) as RunSummary
  // Another training-set size: 7 steps an epoch instead of 6.
  const config = join(run.run_dir, 'config.yaml')
  writeFileSync(config, readFileSync(config, 'utf8').replace('train: 96', 'train: 112'))
  const before = readFileSync(join(run.run_dir, 'metrics.csv'), 'utf8')
  // An edited config.yaml is refused as such; taken with --force, the schedule it would move is refused still.
  await assert.rejects(runExperiment({resume: run.run_dir, log: quiet}), /config\.yaml changed since the run trained under it/)
  await assert.rejects(runExperiment({resume: run.run_dir, force: true, log: quiet}), /cannot resume .* exactly: the run took 6 steps per epoch and would now take 7/)
  assert.equal(readFileSync(join(run.run_dir, 'metrics.csv'), 'utf8'), before)
})

test('early stopping stops after `patience` epochs without improvement, says why, and a resume does not train on', async () => {
  const dir = tempDir()
  const early = {metric: 'test_accuracy', patience: 2, min_delta: 10}
  const file = writeSpec(spec({optimizer: {lr: 0.01}, epochs: 6, checkpoint_every: 5, early_stopping: early}), dir)
  const logs: string[] = []
  const result = (await runExperiment({spec: file, outDir: join(dir, 'r'), log: (m) => logs.push(m)})) as RunSummary
  // min_delta 10 on an accuracy: nothing after epoch 1 counts as better, so epochs 2 and 3 exhaust the patience.
  assert.equal(result.status, 'completed')
  assert.equal(result.epochs_completed, 3)
  assert.match(result.stopped_early!, /^test_accuracy did not rise by more than 10 for 2 epochs \(patience 2; best .* after epoch 1\)$/)
  assert.ok(logs.some((l) => /^stopping early after epoch 3 of 6: test_accuracy/.test(l)), logs.join('\n'))
  const summary = JSON.parse(readFileSync(join(result.run_dir, 'summary.json'), 'utf8'))
  assert.equal(summary.stopped_early, result.stopped_early)
  assert.equal(readCheckpoint(join(result.run_dir, 'last.ckpt')).meta.epoch, 3, 'the last state is kept although checkpoint_every is 5')
  const again = (await runExperiment({resume: result.run_dir, log: quiet})) as RunSummary
  assert.equal(again.epochs_completed, 3)
  assert.equal(again.stopped_early, result.stopped_early)
  assert.equal(metrics(result.run_dir).length, 3)
})

test('a run folder from before the lr column resumes; its metrics.csv is rewritten in the current layout', async () => {
  const dir = tempDir()
  const file = writeSpec(spec({optimizer: {lr: 0.01}, epochs: 3}), dir)
  const runDir = await interrupted(file, join(dir, 'r'), /^epoch 1\/3/)
  const csv = join(runDir, 'metrics.csv')
  const [header, row] = readFileSync(csv, 'utf8').trim().split('\n')
  // the layout of those folders: no lr column, and none of the validation columns that came after it
  const firstNine = (line: string) => line.split(',').slice(0, 9).join(',')
  writeFileSync(csv, `${firstNine(header)}\n${firstNine(row)}\n`)
  const resumed = (await runExperiment({resume: runDir, log: quiet})) as RunSummary
  assert.equal(resumed.status, 'completed')
  const rows = metrics(runDir)
  assert.deepEqual(rows.map((r) => r.lr), [NaN, 0.01, 0.01])
})
