// mixture run --seeds: one run folder per seed, named with it; a failed seed does not stop the others;
// an interruption says which seeds are done; flags that cannot go with it are exit 2; the table follows.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {basename, join} from 'node:path'
import {readFileSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'
import {SpecError} from '../../src/config/errors.js'
import {DataError} from '../../src/data/errors.js'
import {InterruptedError, UsageError} from '../../src/errors.js'
import {runExperiment} from '../../src/run/experiment.js'
import {parseSeeds, runSeeds} from '../../src/run/seeds.js'
import {mixture, TINY_CNN_SPEC, tempDir, writeSpec} from '../helpers.js'

describe('run --seeds', () => {
  it('reads a comma list of seeds, refusing anything else with what is wrong', () => {
    assert.deepEqual(parseSeeds('0,1,2'), [0, 1, 2])
    assert.deepEqual(parseSeeds(' 7 , 42'), [7, 42])
    assert.throws(() => parseSeeds('0,x'), (e: Error) => e instanceof UsageError && /"x" is not one/.test(e.message))
    assert.throws(() => parseSeeds('1,-2'), /"-2" is not one/)
    assert.throws(() => parseSeeds('0,'), /"" is not one/)
    assert.throws(() => parseSeeds('4294967296'), /"4294967296" is not one/)
    assert.throws(() => parseSeeds('3,1,3'), /names seed 3 twice/)
  })

  it('runs each seed into a folder named with it; a failed seed is recorded and the others go on', async () => {
    const dir = tempDir()
    const result = await runSeeds({
      spec: writeSpec(TINY_CNN_SPEC, dir),
      seeds: [0, 1, 2],
      outDir: join(dir, 'r'),
      log: () => {},
      runOne: (opts) => (opts.resolved?.spec.seed === 1 ? Promise.reject(new Error('out of memory')) : runExperiment(opts)),
    })
    assert.deepEqual(result.seeds.map((r) => [r.seed, r.status, r.error]), [[0, 'completed', undefined], [1, 'failed', 'out of memory'], [2, 'completed', undefined]])
    assert.deepEqual([result.completed, result.failed], [2, 1])
    assert.equal(result.seeds[1].run_dir, null)
    for (const r of [result.seeds[0], result.seeds[2]]) {
      assert.match(basename(r.run_dir!), new RegExp(`^\\d{8}-\\d{6}-[0-9a-f]{8}-seed${r.seed}$`))
      assert.equal(parseYaml(readFileSync(join(r.run_dir!, 'config.yaml'), 'utf8')).seed, r.seed)
      assert.equal(r.summary?.seed, r.seed)
    }
  })

  it('checks every seed’s spec, the model and the data before training; an interruption names the seeds done and those left', async () => {
    const dir = tempDir()
    let calls = 0
    const count = () => {
      calls++
      return Promise.reject(new Error('not reached'))
    }
    await assert.rejects(runSeeds({spec: writeSpec({...TINY_CNN_SPEC, train: {epochs: 0}}, dir), seeds: [0, 1], log: () => {}, runOne: count}), SpecError)
    assert.equal(calls, 0)
    // A model that cannot be built and data that are not there are said once, at the spec's line, before any seed.
    const unbuildable = writeSpec({...TINY_CNN_SPEC, model: {type: 'mixture', components: [{type: 'vit', patch_size: 3, dim: 16, depth: 1, heads: 1, dim_head: 8, mlp_dim: 16}]}}, dir, 'patch.yaml')
    await assert.rejects(runSeeds({spec: unbuildable, seeds: [0, 1], log: () => {}, runOne: count}), (e: Error) => e instanceof SpecError && /patch\.yaml:\d+:\d+: model\.components\[0\]: .*patch_size 3/.test(e.message))
    await assert.rejects(runSeeds({spec: writeSpec({...TINY_CNN_SPEC, data: {dataset: 'cifar10', image_size: 8}}, dir, 'cifar.yaml'), seeds: [0, 1], dataDir: dir, log: () => {}, runOne: count}), (e: Error) => e instanceof DataError && /Dataset 'cifar10' is not in the data directory given/.test(e.message))
    assert.equal(calls, 0)
    const spec = writeSpec(TINY_CNN_SPEC, dir)
    await assert.rejects(
      runSeeds({spec, seeds: [5, 6, 7], overrides: ['train.optimizer.lr=0.002', 'label="my runs"'], outDir: join(dir, 'r'), log: () => {}, runOne: (opts) => (opts.resolved?.spec.seed === 6 ? Promise.reject(new InterruptedError('interrupted during epoch 1', 'SIGINT')) : runExperiment(opts))}),
      // The command for the seeds left is this one's: its --set overrides (--name is one) and --out, quoted for the shell.
      (e: Error) => e instanceof InterruptedError && e.message === `interrupted during epoch 1. Seeds done: 5; the seeds not run yet: mixture run ${spec} --seeds 7 --set train.optimizer.lr=0.002 --set 'label="my runs"' --out ${join(dir, 'r')}`,
    )
  })

  it('the CLI prints one JSON document with every seed and the table; --seeds with --seed or --resume is exit 2', () => {
    const dir = tempDir()
    const spec = writeSpec(TINY_CNN_SPEC, dir)
    const r = mixture(['run', spec, '--seeds', '3,4', '--out', join(dir, 'r'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.deepEqual(doc.seeds.map((s: {seed: number; status: string}) => [s.seed, s.status]), [[3, 'completed'], [4, 'completed']])
    assert.deepEqual(doc.table.rows.map((row: {model: string; n: number; seeds: number[]}) => [row.model, row.n, row.seeds]), [['Tiny CNN', 2, [3, 4]]])
    assert.match(doc.table.markdown, /\| Tiny CNN \| \d\.\d{4} ± \d\.\d{4} \(n=2\) \|/)
    const both = mixture(['run', spec, '--seeds', '0,1', '--seed', '2'])
    assert.equal(both.code, 2)
    assert.match(both.stderr, /give either --seed N \(one run\) or --seeds A,B,C \(one run per seed\), not both/)
    const resume = mixture(['run', '--resume', dir, '--seeds', '0,1'])
    assert.equal(resume.code, 2)
    assert.match(resume.stderr, /--seeds starts new runs of a spec; --resume continues one run folder/)
    assert.equal(mixture(['run', spec, '--seeds', '0,0']).code, 2)
  })
})
