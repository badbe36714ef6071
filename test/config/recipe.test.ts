// The training recipe's keys at validation: each optimizer's and schedule's own keys with defaults,
// did-you-mean for unknown names (file:line, exit 2), keys of another optimizer, schedules that make
// no sense for the run, early stopping's metric from the validation split and its mode from the metric.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {mixture, resolveObject, specProblems, tempDir, writeSpec} from '../helpers.js'

const base = {name: 'r', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}}

const problems = specProblems

test('each optimizer resolves to its own keys with PyTorch\'s defaults (Adam: the paper\'s weight decay)', () => {
  assert.deepEqual(resolveObject(base).train.optimizer, {type: 'adam', lr: 0.001, weight_decay: 0.0001, weight_decay_exclude: [], betas: [0.9, 0.999], eps: 1e-8})
  assert.deepEqual(resolveObject({...base, train: {optimizer: {type: 'adamw'}}}).train.optimizer, {type: 'adamw', lr: 0.001, weight_decay: 0.01, weight_decay_exclude: [], betas: [0.9, 0.999], eps: 1e-8})
  assert.deepEqual(resolveObject({...base, train: {optimizer: {type: 'sgd', lr: 0.1}}}).train.optimizer, {type: 'sgd', lr: 0.1, weight_decay: 0, weight_decay_exclude: [], momentum: 0, dampening: 0, nesterov: false})
  const train = resolveObject(base).train
  assert.deepEqual(train.schedule, {type: 'constant', warmup_epochs: 0, warmup_start_factor: 0.01})
  assert.equal(train.label_smoothing, 0)
  assert.equal(train.grad_clip, undefined)
  assert.equal(train.early_stopping, undefined)
})

test('a schedule by name takes its defaults; early stopping takes its mode from the metric', () => {
  const train = resolveObject({...base, train: {epochs: 20, schedule: 'cosine', early_stopping: {metric: 'test_loss'}}}).train
  assert.deepEqual(train.schedule, {type: 'cosine', warmup_epochs: 0, warmup_start_factor: 0.01, min_lr: 0})
  assert.deepEqual(train.early_stopping, {metric: 'test_loss', patience: 10, min_delta: 0, mode: 'min'})
  assert.equal(resolveObject({...base, train: {early_stopping: {}}}).train.early_stopping?.mode, 'max')
  assert.deepEqual(resolveObject({...base, train: {epochs: 3, schedule: {type: 'onecycle', anneal_strategy: 'linear'}}}).train.schedule, {type: 'onecycle', pct_start: 0.3, div_factor: 25, final_div_factor: 10000, anneal_strategy: 'linear', cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95})
})

test('every schedule but onecycle takes the shared warmup, and counts its own epochs from its end', () => {
  const warm = (schedule: unknown, epochs = 10) => resolveObject({...base, train: {epochs, schedule}}).train.schedule
  assert.deepEqual(warm({type: 'step', step_size: 3, warmup_epochs: 2}), {type: 'step', step_size: 3, gamma: 0.1, warmup_epochs: 2, warmup_start_factor: 0.01})
  assert.deepEqual(warm({type: 'multistep', milestones: [4], warmup_epochs: 1, warmup_start_factor: 0.1}), {type: 'multistep', milestones: [4], gamma: 0.1, warmup_epochs: 1, warmup_start_factor: 0.1})
  assert.deepEqual(warm('constant'), {type: 'constant', warmup_epochs: 0, warmup_start_factor: 0.01})
  // onecycle ramps up itself: the warmup keys are not its.
  const p = problems(() => warm({type: 'onecycle', warmup_epochs: 2}))
  assert.deepEqual(p.map((x) => x.path), ['train.schedule.warmup_epochs'])
  assert.match(p[0].message, /^unknown key; allowed keys here: pct_start, div_factor/)
  // After a 4-epoch warmup of 10 epochs the step schedule has 6 of its own: step_size 6 would never decay, milestone 6 would never come.
  const q = problems(() => warm({type: 'step', step_size: 6, warmup_epochs: 4}))
  assert.deepEqual(q.map((x) => [x.path, x.message]), [['train.schedule.step_size', "is 6, but the schedule has 6 epochs after the 4-epoch warmup (0–5): the learning rate would never decay; use a smaller step_size, or schedule: constant"]])
  assert.equal(warm({type: 'step', step_size: 5, warmup_epochs: 4}).step_size, 5)
  assert.match(problems(() => warm({type: 'multistep', milestones: [6], warmup_epochs: 4}))[0].message, /^is 6, out of range: the schedule has 6 epochs after the 4-epoch warmup \(0–5\), so this decay would never happen$/)
  assert.match(problems(() => warm({type: 'constant', warmup_epochs: 10}))[0].message, /^is 10, but training has 10 epochs: the warmup would be as long as training or longer, leaving nothing to schedule$/)
})

test('early stopping watches the validation accuracy where the run holds a validation split out; a validation metric needs one', () => {
  const withVal = {...base, data: {...base.data, val_split: 0.1}}
  assert.deepEqual(resolveObject({...withVal, train: {early_stopping: {}}}).train.early_stopping, {metric: 'val_accuracy', mode: 'max', patience: 10, min_delta: 0})
  assert.deepEqual(resolveObject({...withVal, train: {early_stopping: {metric: 'val_loss'}}}).train.early_stopping?.mode, 'min')
  assert.equal(resolveObject({...withVal, train: {early_stopping: {metric: 'test_accuracy'}}}).train.early_stopping?.metric, 'test_accuracy', 'a metric given is kept')
  assert.equal(resolveObject({...base, data: {...base.data, val_split: 0}, train: {early_stopping: {}}}).train.early_stopping?.metric, 'test_accuracy', 'val_split 0: none')
  const p = problems(() => resolveObject({...base, train: {early_stopping: {metric: 'val_accuracy'}}}))
  assert.deepEqual(p.map((x) => [x.path, x.message]), [['train.early_stopping.metric', 'val_accuracy needs a validation split: set data.val_split (e.g. 0.1), or watch test_accuracy or test_loss']])
})

test('data.val_split is a fraction from 0 to 0.5', () => {
  assert.equal(resolveObject({...base, data: {...base.data, val_split: 0.5}}).data.val_split, 0.5)
  assert.equal(resolveObject(base).data.val_split, undefined)
  for (const bad of [0.6, -0.1]) {
    const p = problems(() => resolveObject({...base, data: {...base.data, val_split: bad}}))
    assert.deepEqual(p.map((x) => x.path), ['data.val_split'])
    assert.match(p[0].message, bad > 0 ? /must be <= 0\.5/ : /must be >= 0/)
  }
})

test('unknown optimizer, schedule and role names get a did-you-mean with file:line', () => {
  const file = writeSpec(`name: r
data: {dataset: synthetic, image_size: 8}
model: {type: mixture, components: [{type: cnn, channels: [4, 3]}]}
train:
  optimizer: {type: sdg, lr: 0.1}
  schedule: cosin
`)
  const p = problems(() => validateSpec(loadSpec(file)))
  assert.deepEqual(p.map((x) => [x.path, x.origin?.line]), [['train.optimizer.type', 5], ['train.schedule', 6]])
  assert.equal(p[0].message, 'unknown optimizer "sdg", did you mean sgd?; registered: adam, adamw, sgd (a plugin file listed under plugins: can add more)')
  assert.match(p[1].message, /unknown schedule "cosin", did you mean cosine\?; registered: constant, step, multistep, cosine, onecycle \(a plugin file listed under plugins: can add more\)/)
  const q = problems(() => resolveObject({...base, train: {optimizer: {type: 'sgd', weight_decay_exclude: ['norms']}, schedule: {type: 'multstep', milestones: [2]}}}))
  assert.match(q.find((x) => x.path === 'train.optimizer.weight_decay_exclude[0]')!.message, /did you mean norm\?/)
  assert.match(q.find((x) => x.path === 'train.schedule.type')!.message, /did you mean multistep\?/)
  const r = problems(() => resolveObject({...base, train: {schedule: {type: 'cosine', warmup: 2}}}))
  assert.deepEqual(r.map((x) => [x.path, x.message]), [['train.schedule.warmup', 'unknown key; allowed keys here: min_lr, warmup_epochs, warmup_start_factor']])
})

test('the CLI refuses a mistyped optimizer with exit 2, naming file:line and the suggestion', () => {
  const dir = tempDir()
  writeSpec({...base, train: {optimizer: {type: 'adamW'}}}, dir)
  const r = mixture(['validate', 'spec.yaml'], {cwd: dir})
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /spec\.yaml:\d+:\d+: train\.optimizer\.type: unknown optimizer "adamW", did you mean adamw\?; registered: adam, adamw, sgd/)
})

test('a key of another optimizer is an error, unless it holds that optimizer\'s default (a base spec\'s betas, eps)', () => {
  const p = problems(() => resolveObject({...base, train: {optimizer: {type: 'adam', momentum: 0.9}}}))
  assert.deepEqual(p.map((x) => [x.path, x.message]), [['train.optimizer.momentum', 'applies to sgd only, not to adam (its momentum is betas[0]); remove it, or set train.optimizer.type']])
  const q = problems(() => resolveObject({...base, train: {optimizer: {type: 'sgd', betas: [0.8, 0.9]}}}))
  assert.match(q[0].message, /^applies to adam and adamw only, not to sgd/)
  const inherited = resolveObject({...base, train: {optimizer: {type: 'sgd', lr: 0.1, momentum: 0.9, betas: [0.9, 0.999], eps: 1e-8}}}).train.optimizer
  assert.deepEqual(Object.keys(inherited).sort(), ['dampening', 'lr', 'momentum', 'nesterov', 'type', 'weight_decay', 'weight_decay_exclude'])
})

test('what makes no sense is refused with the reason: warmup as long as training, min_lr above lr, milestones out of range, Nesterov without momentum', () => {
  const p = problems(() =>
    resolveObject({...base, train: {epochs: 5, optimizer: {type: 'sgd', lr: 0.1, nesterov: true}, schedule: {type: 'cosine', warmup_epochs: 5, min_lr: 0.5}}}),
  )
  assert.deepEqual(
    p.map((x) => x.path),
    ['train.optimizer.nesterov', 'train.schedule.warmup_epochs'],
  )
  assert.match(p[0].message, /Nesterov momentum needs momentum > 0 and dampening 0 \(got momentum 0, dampening 0\)/)
  assert.match(p[1].message, /is 5, but training has 5 epochs: the warmup would be as long as training or longer/)
  // The schedule's own keys are judged over the epochs after the warmup, once it leaves some.
  const m = problems(() => resolveObject({...base, train: {epochs: 5, optimizer: {lr: 0.1}, schedule: {type: 'cosine', warmup_epochs: 1, min_lr: 0.5}}}))
  assert.deepEqual(m.map((x) => x.path), ['train.schedule.min_lr'])
  assert.match(m[0].message, /is 0\.5, not below train\.optimizer\.lr \(0\.1\)/)
  const q = problems(() => resolveObject({...base, train: {epochs: 10, schedule: {type: 'multistep', milestones: [4, 12]}}}))
  assert.deepEqual(q.map((x) => [x.path, x.message]), [['train.schedule.milestones[1]', 'is 12, out of range: training has 10 epochs (0–9), so this decay would never happen']])
  const r = problems(() => resolveObject({...base, train: {optimizer: {lr: -0.1}, label_smoothing: 1.5, grad_clip: {max_norm: 0}}}))
  assert.deepEqual(r.map((x) => x.path).sort(), ['train.grad_clip.max_norm', 'train.label_smoothing', 'train.optimizer.lr'])
})
