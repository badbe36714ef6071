// The job scripts a Slurm sweep writes: readable, valid bash, each setting where sbatch reads it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'
import {join} from 'node:path'
import {arrayList, arrayScript, sbatchOptions, signalSeconds, tableScript, type ScriptInput} from '../../src/slurm/script.js'
import {shellQuote} from '../../src/shell-quote.js'
import {REPO, tempDir} from '../helpers.js'

const input = (launcher: ScriptInput['launcher'], indices = [0, 1, 2]): ScriptInput => ({
  name: 'cifar10-table',
  dir: '/shared/results/cifar10-table',
  pointDirs: ['01-alternating-1block', '02-joint-1block', '03-resnet18'],
  indices,
  launcher,
  args: ['--data-dir', '/shared/datasets'],
  node: '/usr/bin/node',
  bin: '/opt/mixture/bin/run.js',
  version: '0.1.0',
})

test('array lists join consecutive points into ranges', () => {
  assert.equal(arrayList([0, 1, 2, 3]), '0-3')
  assert.equal(arrayList([5, 0, 2, 3, 7, 8]), '0,2-3,5,7-8')
  assert.equal(arrayList([4]), '4')
})

test('USR1 comes a quarter of the time limit early, 10 s to 120 s; extra.signal sets it', () => {
  assert.equal(signalSeconds({type: 'slurm'}), 120)
  assert.equal(signalSeconds({type: 'slurm', time: '02:00:00'}), 120)
  assert.equal(signalSeconds({type: 'slurm', time: 4}), 60)
  assert.equal(signalSeconds({type: 'slurm', time: '0:30'}), 10)
  assert.equal(signalSeconds({type: 'slurm', time: 1, extra: {signal: 'B:USR1@50'}}), 50)
})

test('launcher settings become sbatch options; the table job gets where it runs and who pays, one CPU and its own memory and time', () => {
  const launcher = {type: 'slurm' as const, partition: 'gpu', account: 'lab', gpus_per_task: 1, cpus_per_task: 8, mem: '32G', time: '02:00:00', extra: {exclusive: true, 'mail-type': 'END', hold: false, signal: 'B:USR1@300'}}
  assert.deepEqual(sbatchOptions(launcher, 'array'), ['--partition=gpu', '--account=lab', '--gpus-per-task=1', '--cpus-per-task=8', '--mem=32G', '--time=02:00:00', '--exclusive', '--mail-type=END'])
  assert.deepEqual(sbatchOptions(launcher, 'table'), ['--partition=gpu', '--account=lab', '--cpus-per-task=1', '--mem=1G', '--time=30'])
  assert.deepEqual(sbatchOptions({...launcher, table_mem: 4000, table_time: '01:00:00'}, 'table'), ['--partition=gpu', '--account=lab', '--cpus-per-task=1', '--mem=4000', '--time=01:00:00'])
})

test('the array script: #SBATCH lines first, one point per task, the signal traps, the attempt record; valid bash', () => {
  const text = arrayScript(input({type: 'slurm', partition: 'gpu', max_parallel: 2, time: '02:00:00', setup: ['module load nodejs/20']}, [0, 2]))
  const lines = text.split('\n')
  const firstCommand = lines.findIndex((l) => l && !l.startsWith('#'))
  assert.ok(lines.slice(firstCommand).every((l) => !l.startsWith('#SBATCH')), 'sbatch reads #SBATCH lines only before the first command')
  for (const option of ['--array=0,2%2', '--output=/shared/results/cifar10-table/slurm/logs/%a.log', '--open-mode=append', '--requeue', '--signal=B:USR1@120', '--partition=gpu', '--time=02:00:00']) {
    assert.ok(lines.includes(`#SBATCH ${option}`), option)
  }
  assert.match(text, /\n {2}01-alternating-1block\n {2}02-joint-1block\n {2}03-resnet18\n\)/)
  assert.match(text, /^run=\(\/usr\/bin\/node \/opt\/mixture\/bin\/run\.js\)$/m)
  assert.match(text, /^ {2}"\$\{run\[@\]\}" sweep run-point "\$sweep" "\$SLURM_ARRAY_TASK_ID" --threads "\$threads" --data-dir \/shared\/datasets &$/m)
  assert.ok(text.indexOf('run=(') < text.indexOf('module load nodejs/20'), 'a setup line may set run=(…) anew')
  assert.ok(text.indexOf("trap 'requeue=1") < text.indexOf('module load nodejs/20'), 'the traps are set before the setup lines run')
  assert.ok(text.indexOf('module load nodejs/20') < text.indexOf('sweep run-point'))
  assert.match(text, /scontrol requeue "\$\{SLURM_ARRAY_JOB_ID\}_\$\{SLURM_ARRAY_TASK_ID\}"/)
  assert.match(text, />>"\$point\/attempts\.jsonl"/)
  const dir = tempDir()
  writeFileSync(join(dir, 'array.sbatch'), text)
  writeFileSync(join(dir, 'table.sbatch'), tableScript(input({type: 'slurm', partition: 'gpu', setup: ['module load nodejs/20']})))
  for (const f of ['array.sbatch', 'table.sbatch']) {
    const check = spawnSync('bash', ['-n', join(dir, f)], {encoding: 'utf8'})
    assert.equal(check.status, 0, `${f}: ${check.stderr}`)
  }
})

test('shell quoting leaves plain words alone', () => {
  assert.equal(shellQuote('/opt/x/bin/run.js'), '/opt/x/bin/run.js')
  assert.equal(shellQuote("it's here"), `'it'\\''s here'`)
})

test("docs/slurm.md's job scripts carry the #SBATCH lines the code writes for the launcher block it shows", () => {
  const doc = readFileSync(join(REPO, 'docs', 'slurm.md'), 'utf8')
  const block = /```yaml\n(sweep:\n[\s\S]*?)```/.exec(doc)?.[1]
  assert.ok(block, 'the page shows a sweep file with a launcher block')
  const launcher = (parseYaml(block) as {sweep: {launcher: ScriptInput['launcher']}}).sweep.launcher
  const docInput = {...input(launcher, [0, 1, 2, 3, 4, 5]), pointDirs: ['01', '02', '03', '04', '05', '06']}
  const sbatchLines = (text: string) => text.split('\n').filter((l) => l.startsWith('#SBATCH'))
  const scripts = [...doc.matchAll(/```bash\n(#!\/bin\/bash[\s\S]*?)```/g)].map((m) => m[1])
  assert.equal(scripts.length, 2, 'the array script and the table script')
  assert.deepEqual(sbatchLines(scripts[0]), sbatchLines(arrayScript(docInput)))
  assert.deepEqual(sbatchLines(scripts[1]), sbatchLines(tableScript(docInput)))
})
