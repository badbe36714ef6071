// The numbers `npm run parity` prints: spreads, differences with standard errors, the pooled
// standard deviation and the verdict against max(pooled sd, 0.005).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {compareRuns, difference, pooledSd, spread, type EpochRow} from '../../bench/torch/parity-stats.js'

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`)

test('spread: mean and sample standard deviation; difference and pooled sd', () => {
  const a = spread([0.86, 0.87, 0.88])
  near(a.mean, 0.87)
  near(a.sd, 0.01)
  assert.deepEqual(spread([0.5]), {mean: 0.5, sd: 0, n: 1})
  const b = spread([0.85, 0.89])
  near(b.sd, Math.sqrt(0.0008))
  const d = difference(a, b)
  near(d.diff, 0.87 - 0.87)
  near(d.se, Math.sqrt(0.0001 / 3 + 0.0008 / 2))
  near(pooledSd(a, b), Math.sqrt((2 * 0.0001 + 1 * 0.0008) / 3))
})

const runs = (best: number[]): EpochRow[][] =>
  best.map((b) => [
    {epoch: 1, test_accuracy: b - 0.1, test_loss: 1, train_accuracy: b - 0.2, train_loss: 1.5},
    {epoch: 2, test_accuracy: b, test_loss: 0.5, train_accuracy: b - 0.05, train_loss: 0.75},
  ])

test('compareRuns: best accuracy over epochs on each side, within max(pooled sd, 0.005) or not', () => {
  const close = compareRuns(runs([0.87, 0.872, 0.874]), runs([0.873, 0.875, 0.877]))
  assert.equal(close.epochs.length, 2)
  // The training metrics are compared as the test metrics are.
  near(close.epochs[0].training.ours.accuracy.mean, 0.672)
  near(close.epochs[1].training.accuracy.diff, -0.003)
  near(close.epochs[1].training.loss.diff, 0)
  near(close.best.ours.mean, 0.872)
  near(close.best.diff, -0.003)
  near(close.best.pooled_sd, 0.002)
  near(close.best.allowed, 0.005)
  assert.equal(close.best.within, true)
  const far = compareRuns(runs([0.86, 0.861, 0.862]), runs([0.88, 0.881, 0.882]))
  assert.equal(far.best.within, false)
  const noisy = compareRuns(runs([0.84, 0.87, 0.9]), runs([0.85, 0.88, 0.91]))
  near(noisy.best.allowed, 0.03)
  assert.equal(noisy.best.within, true, 'a difference of 0.01 within a pooled sd of 0.03')
})
