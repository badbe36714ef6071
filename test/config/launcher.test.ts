// Launcher settings: the sweep file's launcher: block and --launcher/--slurm/--jobs, checked like a spec.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {resolveLauncher, timeSeconds} from '../../src/config/launcher.js'
import {SpecError, type Problem} from '../../src/config/errors.js'
import {expandSweep} from '../../src/config/sweep.js'
import {tempDir, writeSpec} from '../helpers.js'

const point = {name: 'p', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}}

function problems(fn: () => unknown): Problem[] {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof SpecError, `expected a SpecError, got ${error}`)
    return error.problems
  }
  assert.fail('expected the settings to be rejected')
}

function sweepFile(launcher: string): string {
  const dir = tempDir()
  writeSpec(point, dir, 'p.yaml')
  return writeSpec(`sweep:\n  name: s\n  points: [p.yaml]\n  launcher:\n${launcher}`, dir, 'sweep.yaml')
}

test('a sweep file\'s launcher block is read, and the command line wins key by key', () => {
  const plan = expandSweep(sweepFile('    type: slurm\n    partition: gpu\n    time: "02:00:00"\n    max_parallel: 6\n    setup: ["module load nodejs"]\n    extra: {exclusive: true}\n'), [])
  assert.deepEqual(plan.launcher, {type: 'slurm', partition: 'gpu', time: '02:00:00', max_parallel: 6, setup: ['module load nodejs'], extra: {exclusive: true}})
  const merged = resolveLauncher(plan.launcher, {slurm: ['time=30', 'extra.mail-type=END']}, plan.origins)
  assert.deepEqual(merged, {type: 'slurm', partition: 'gpu', time: 30, max_parallel: 6, setup: ['module load nodejs'], extra: {exclusive: true, 'mail-type': 'END'}})
  // --launcher local switches type; the file's Slurm settings do not follow it.
  assert.deepEqual(resolveLauncher(plan.launcher, {type: 'local', jobs: 2}, plan.origins), {type: 'local', jobs: 2})
})

test('without a launcher block: local, or slurm when --slurm settings are given', () => {
  assert.deepEqual(resolveLauncher(undefined, {}), {type: 'local'})
  assert.deepEqual(resolveLauncher(undefined, {jobs: 3}), {type: 'local', jobs: 3})
  assert.deepEqual(resolveLauncher(undefined, {slurm: ['partition=debug', 'gpus_per_task=1']}), {type: 'slurm', partition: 'debug', gpus_per_task: 1})
})

test('an unknown key or a bad value in the file is a problem with file:line and a suggestion', () => {
  const found = problems(() => expandSweep(sweepFile('    type: slurm\n    partiton: gpu\n    time: two hours\n    mem: 32 GB\n'), []))
  const byPath = Object.fromEntries(found.map((p) => [p.path, p]))
  assert.match(byPath['sweep.launcher.partiton'].message, /unknown key, did you mean partition\?/)
  assert.equal(byPath['sweep.launcher.partiton'].origin?.line, 6)
  assert.match(byPath['sweep.launcher.time'].message, /"two hours" is not a Slurm time: write minutes \(90\), hours:minutes:seconds/)
  assert.equal(byPath['sweep.launcher.time'].origin?.line, 7)
  assert.match(byPath['sweep.launcher.mem'].message, /is not a Slurm memory size/)
})

test('a bad --slurm setting names the flag; keys of the other launcher and options mixture writes are refused', () => {
  const [time] = problems(() => resolveLauncher(undefined, {slurm: ['time=1:2:3:4']}))
  assert.equal(time.origin?.file, '--slurm time=1:2:3:4')
  assert.match(time.message, /is not a Slurm time/)
  assert.match(problems(() => resolveLauncher(undefined, {slurm: ['nodes']}))[0].message, /is not key=value with a launcher key/)
  assert.match(problems(() => resolveLauncher(undefined, {slurm: ['extra.output=x.log']}))[0].message, /--output is written by mixture itself/)
  assert.match(problems(() => resolveLauncher(undefined, {slurm: ['extra.partition=gpu']}))[0].message, /write it as launcher\.partition/)
  assert.match(problems(() => resolveLauncher(undefined, {slurm: ['extra.signal=B:TERM@60']}))[0].message, /must be B:USR1@<seconds>/)
  assert.match(problems(() => resolveLauncher(undefined, {type: 'local', slurm: ['time=10']}))[0].message, /applies to the slurm launcher, not to local/)
  assert.match(problems(() => resolveLauncher(undefined, {type: 'slurm', jobs: 2}))[0].message, /applies to the local launcher, not to slurm/)
  assert.match(problems(() => resolveLauncher(undefined, {slurm: ['partition=gpu;rm']}))[0].message, /cannot be passed to sbatch as it is/)
})

test('options sbatch would read as guarded ones (any unambiguous start of a name), --wait, zero limits and a multi-line constraint are refused', () => {
  const message = (sets: string[]) => problems(() => resolveLauncher(undefined, {slurm: sets}))[0].message
  assert.match(message(['extra.arr=0']), /sbatch would read --arr as --array \(it takes any unambiguous start of an option's name\); write options out in full/)
  assert.match(message(['extra.sig=B:USR2@30']), /sbatch would read --sig as --signal/)
  assert.match(message(['extra.dep=afterok:1']), /sbatch would read --dep as --dependency/)
  assert.match(message(['extra.wait=true']), /--wait makes sbatch wait until the jobs end/)
  assert.match(message(['extra.signal=B:USR1@0']), /must be B:USR1@<seconds>, at least 10 seconds/)
  assert.match(message(['mem=0G']), /is not a Slurm memory size: write a number above 0/)
  assert.match(message(['time=0:0']), /is 0, which Slurm reads as no limit at all/)
  assert.match(message(['constraint="x\\n#SBATCH --array=0-7"']), /is not a node feature expression: .* on one line/)
  assert.doesNotThrow(() => resolveLauncher(undefined, {slurm: ['extra.exclusive=true', 'extra.signal=B:USR1@60', 'constraint=a100|h100', 'extra.gpus=2']}), '--gpus is an option of its own')
})

test('Slurm time limits in seconds', () => {
  assert.equal(timeSeconds(90), 5400)
  assert.equal(timeSeconds('90'), 5400)
  assert.equal(timeSeconds('10:30'), 630)
  assert.equal(timeSeconds('02:00:00'), 7200)
  assert.equal(timeSeconds('1-12'), 129600)
  assert.equal(timeSeconds('1-00:30'), 88200)
  assert.equal(timeSeconds('1-00:00:10'), 86410)
  assert.equal(timeSeconds('UNLIMITED'), undefined)
  assert.equal(timeSeconds(undefined), undefined)
})
