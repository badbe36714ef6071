// Settings that are valid but change nothing in the run are warned of at their lines (validate and
// the start of a run, kept in run.log), not refused; a spec without them has no warning.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {averageSpanWarning, idleSettings} from '../../src/config/idle-settings.js'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {mixture, tempDir, writeSpec} from '../helpers.js'
import {TINY_SPEC} from '../faults/helpers.js'

const base = {name: 'x', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'cnn_classifier'}, train: {epochs: 3}}

/** The warnings of `spec` with `sets`, as `path: message`. */
function warnings(spec: Record<string, unknown>, sets: string[] = []): string[] {
  const loaded = loadSpec(writeSpec(spec), sets)
  return idleSettings(validateSpec(loaded), loaded).map((w) => `${w.path}: ${w.message}`)
}

test('a spec whose every setting does something has no warning; mixup, ema, early stopping and transforms in use have none', () => {
  assert.deepEqual(warnings(base), [])
  assert.deepEqual(
    warnings({...base, train: {epochs: 3, mixup: {mixup_alpha: 0.8, cutmix_alpha: 1, off_epoch: 2}, ema: {decay: 0.99}}, data: {dataset: 'synthetic', image_size: 8, augment: ['hflip', {type: 'rand_augment', num_ops: 1}]}}),
    [],
  )
  // Both alphas 0 is no mixup at all, on purpose (a sweep's baseline): nothing to warn of.
  assert.deepEqual(warnings({...base, train: {epochs: 3, mixup: {mixup_alpha: 0, prob: 0}}}), [])
})

test('each setting that changes nothing is warned of, saying why and what to write instead', () => {
  const said = (sets: string[]) => warnings(base, sets).join('\n')
  assert.match(said(['train.mixup={mixup_alpha: 0.2, prob: 0}']), /^train\.mixup\.prob: is 0, so no batch is mixed/)
  assert.match(said(['train.mixup={mixup_alpha: 0.2, cutmix_alpha: 1, switch_prob: 0}']), /^train\.mixup\.switch_prob: is 0, so every mixed batch is a mixup one/)
  assert.match(said(['train.mixup={mixup_alpha: 0.2, cutmix_alpha: 1, switch_prob: 1}']), /^train\.mixup\.switch_prob: is 1, so every mixed batch is a cutmix one/)
  assert.match(said(['train.mixup={mixup_alpha: 0.2, off_epoch: 3}']), /^train\.mixup\.off_epoch: is 3, and the run has 3 epoch\(s\): mixing never stops/)
  assert.match(said(['train.mixup={mixup_alpha: 0.2}', 'train.batch_size=1']), /^train\.batch_size: is 1, so each image is mixed with itself/)
  assert.match(said(['train.ema={decay: 0}']), /^train\.ema\.decay: is 0, so the average is the weights themselves/)
  assert.match(said(['train.early_stopping={metric: test_accuracy, patience: 3}']), /^train\.early_stopping\.patience: is 3, and the run has 3 epoch\(s\): it can never stop the run early/)
  assert.match(said(['data.augment=[hflip, {type: vflip, p: 0}]']), /^data\.augment\[1\]\.p: is 0, so vflip applies to no image/)
  assert.match(said(['data.augment=[{type: rand_augment, num_ops: 0}]']), /^data\.augment\[0\]\.num_ops: is 0, so rand_augment applies no op/)
  assert.match(said(['data.augment=[{type: random_rotation, degrees: [0, 0]}]']), /^data\.augment\[0\]\.degrees: is 0, so random_rotation turns no image/)
  assert.match(said(['data.augment=[{type: color_jitter, brightness: 0}]']), /^data\.augment\[0\]: sets none of brightness, contrast, saturation and hue above 0/)
  assert.match(said(['data.augment=[{type: timm_rand_augment, config: rand-m9-p0}]']), /^data\.augment\[0\]\.config: 'rand-m9-p0' applies no op \(p0/)
  assert.match(said(['data.augment=[{type: timm_rand_augment, config: rand-n0}]']), /applies no op \(n0: no op per image\)/)
  assert.match(said(['train.mixup={mixup_alpha: 0.8, switch_prob: 0.3}']), /^train\.mixup\.switch_prob: chooses between mixup and cutmix only when both are on, and cutmix is off: every mixed batch is a mixup one/)
  assert.match(said(['train.mixup={cutmix_alpha: 1, switch_prob: 0.3}']), /^train\.mixup\.switch_prob: .*and mixup_alpha is 0: every mixed batch is a cutmix one/)
  assert.match(said(['data.augment=[{type: timm_rand_augment, config: rand-m30}]']), /^data\.augment\[0\]\.config: 'rand-m30' asks for magnitude 30, above the clamp at 10 \(mmax, default 10\): every op runs at magnitude 10/)
  assert.match(said(['data.augment=[{type: timm_rand_augment, config: rand-m9-mmax5}]']), /'rand-m9-mmax5' asks for magnitude 9, above the clamp at 5 \(mmax\)/)
  assert.match(said(['data.augment={hflip: false, brightness: 0, hue: 0}']), /^data\.augment: turns hflip, brightness and hue all off, so no image is augmented: write data\.augment: false/)
  assert.deepEqual(warnings(base, ['data.augment=[{type: color_jitter, hue: 0.1}, {type: random_rotation, degrees: 5}, {type: timm_rand_augment, config: rand-m9-mstd0.5-inc1}]']), [])
  // Settings near those that do something: both alphas with a switch; magnitudes the noise takes below the clamp, or uniform draws.
  assert.deepEqual(warnings(base, ['train.mixup={mixup_alpha: 0.8, cutmix_alpha: 1, switch_prob: 0.3}', 'data.augment=[{type: timm_rand_augment, config: rand-m12-mstd1}, {type: timm_rand_augment, config: rand-m30-mstd101}, {type: timm_rand_augment, config: rand-m20-mmax20}]']), [])
})

test("an average spanning more steps than the run has is said with what to do; with warmup, or spanning fewer, it is not", () => {
  const ema = (e: Record<string, unknown>) => validateSpec(loadSpec(writeSpec({...base, train: {epochs: 3, ema: e}})))
  assert.match(averageSpanWarning(ema({decay: 0.9998}), 564) ?? '', /^train\.ema\.decay 0\.9998 averages over about 5,000 steps, and the run has 564: its average holds mostly the first weights\. Add warmup: true/)
  assert.equal(averageSpanWarning(ema({decay: 0.9998, warmup: true}), 564), undefined)
  assert.equal(averageSpanWarning(ema({decay: 0.99}), 564), undefined)
  assert.equal(averageSpanWarning(validateSpec(loadSpec(writeSpec(base))), 564), undefined)
})

test('the warnings come in the order a reader meets them, as the problems do', () => {
  const said = warnings({...base, train: {epochs: 3, early_stopping: {metric: 'test_accuracy', patience: 3}, ema: {decay: 0}}}, ['train.mixup={mixup_alpha: 0.2, prob: 0}'])
  assert.deepEqual(said.map((w) => w.split(':')[0]), ['train.early_stopping.patience', 'train.ema.decay', 'train.mixup.prob'])
})

test('validate says the warnings on stderr with their lines and exits 0 (--json lists them); a run says them and keeps them in run.log', () => {
  const dir = tempDir()
  const file = join(dir, 'spec.yaml')
  writeSpec(`name: x\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: cnn_classifier}\ntrain:\n  epochs: 2\n  ema: {decay: 0}\n`, dir)
  const r = mixture(['validate', file])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /warning: .*spec\.yaml:6:\d+: train\.ema\.decay: is 0/)
  const json = JSON.parse(mixture(['validate', file, '--json']).stdout)
  assert.deepEqual(json.warnings.map((w: {path: string}) => w.path), ['train.ema.decay'])
  // A spec that fails only when its model is built still lists its warnings beside the error.
  const broken = mixture(['validate', file, '--json', '--set', 'model={type: vit_classifier, patch_size: 3}'])
  assert.equal(broken.code, 2, broken.stderr)
  const failed = JSON.parse(broken.stdout)
  assert.ok(failed.error.problems.length > 0, broken.stdout)
  assert.deepEqual(failed.warnings.map((w: {path: string}) => w.path), ['train.ema.decay'])
  const runSpec = writeSpec({...TINY_SPEC(1, {engine: {backend: 'cpu'}}), train: {epochs: 1, batch_size: 16, optimizer: {lr: 0.01}, ema: {decay: 0}}}, tempDir())
  const run = mixture(['run', runSpec, '--out', join(dir, 'results')])
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stderr, /warning: .*train\.ema\.decay: is 0/)
  const runDir = /run folder: (.*)/.exec(run.stdout)![1].trim()
  assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /warning: .*train\.ema\.decay: is 0/)
})
