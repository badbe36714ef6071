// Early stopping decided from metrics.csv rows, as Lightning's EarlyStopping: an improvement must beat
// the best by more than min_delta; `patience` epochs in a row without one stop training.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {earlyStop} from '../../src/run/early-stopping.js'
import type {EarlyStoppingSpec} from '../../src/schema/recipe.js'

const rows = (metric: EarlyStoppingSpec['metric'], values: number[]) =>
  values.map((v, i) => ({epoch: i + 1, test_accuracy: NaN, test_loss: NaN, train_accuracy: NaN, train_loss: NaN, val_accuracy: NaN, val_loss: NaN, [metric]: v}))
const spec = (s: Partial<EarlyStoppingSpec>): EarlyStoppingSpec => ({metric: 'test_accuracy', mode: 'max', patience: 2, min_delta: 0, ...s})

test('max: stops after `patience` epochs without a new best; an equal value is no improvement', () => {
  assert.equal(earlyStop(spec({}), rows('test_accuracy', [0.5, 0.6, 0.6])), undefined)
  assert.equal(earlyStop(spec({}), rows('test_accuracy', [0.5, 0.6, 0.6, 0.59])), 'test_accuracy did not rise for 2 epochs (patience 2; best 0.6 after epoch 2)')
  assert.equal(earlyStop(spec({}), rows('test_accuracy', [0.5, 0.6, 0.6, 0.61, 0.6])), undefined, 'a new best resets the count')
  assert.equal(earlyStop(spec({patience: 1}), rows('test_accuracy', [0.5, 0.4])), 'test_accuracy did not rise for 1 epoch (patience 1; best 0.5 after epoch 1)')
})

test('min_delta: a rise must exceed it; min mode for losses', () => {
  assert.match(earlyStop(spec({min_delta: 0.05}), rows('test_accuracy', [0.5, 0.54, 0.53]))!, /did not rise by more than 0\.05 for 2 epochs .*best 0\.5 after epoch 1/)
  assert.equal(earlyStop(spec({min_delta: 0.05}), rows('test_accuracy', [0.5, 0.54, 0.56])), undefined)
  const loss = spec({metric: 'test_loss', mode: 'min'})
  assert.equal(earlyStop(loss, rows('test_loss', [2, 1.5, 1.4, 1.3])), undefined)
  assert.equal(earlyStop(loss, rows('test_loss', [2, 1.5, 1.6, 1.5])), 'test_loss did not fall for 2 epochs (patience 2; best 1.5 after epoch 2)')
})

test('without early stopping, or before the first epoch, nothing stops', () => {
  assert.equal(earlyStop(undefined, rows('test_accuracy', [0.5, 0.4, 0.3])), undefined)
  assert.equal(earlyStop(spec({}), []), undefined)
})

test('the validation columns can be watched like any other', () => {
  assert.equal(earlyStop(spec({metric: 'val_accuracy'}), rows('val_accuracy', [0.5, 0.6, 0.55, 0.58])), 'val_accuracy did not rise for 2 epochs (patience 2; best 0.6 after epoch 2)')
  assert.equal(earlyStop(spec({metric: 'val_loss', mode: 'min'}), rows('val_loss', [2, 1.5, 1.6, 1.4])), undefined)
})
