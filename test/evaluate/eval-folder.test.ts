// Where `mixture eval` writes, <run>/eval/<split>-<ckpt>/, when things go wrong: a run folder that
// cannot be written says why (not a misleading ENOENT) and how to evaluate all the same; temp
// folders of a killed eval are removed by the next; an eval killed while it replaced test-best
// leaves the old one aside, where readers find it and the next eval puts it back.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {evaluateRun} from '../../src/evaluate/evaluate-run.js'
import {readableFolder} from '../../src/fs/folder-leftovers.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {mixture, REPO, tempDir, TINY_CNN_SPEC, writeSpec} from '../helpers.js'
import {endedPid, runningPid} from '../fs/pids.js'

const READ_ONLY = join(REPO, 'dist', 'test', 'fs', 'read-only-fs.js')
const KILL_IN_SWAP = join(REPO, 'dist', 'test', 'fs', 'kill-in-swap.js')

describe('the eval folder', () => {
  let trained: string
  /** A fresh copy of the trained run, with no eval/ yet. */
  const copyOfRun = () => {
    const copy = join(tempDir(), 'run')
    cpSync(trained, copy, {recursive: true})
    rmSync(join(copy, 'eval'), {recursive: true, force: true})
    return copy
  }

  before(async () => {
    const dir = tempDir()
    trained = ((await runExperiment({spec: writeSpec(TINY_CNN_SPEC, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary).run_dir
  })

  for (const [code, why] of [
    ['EROFS', 'the file system is read-only \\(EROFS\\)'],
    ['EACCES', 'no permission to write there \\(EACCES\\)'],
  ] as const) {
    it(`a run folder that cannot be written (${code}) is said as such, naming the folder and how to evaluate all the same, exit 1`, async () => {
      const run = copyOfRun()
      const env = {FAULT_READ_ONLY: run, FAULT_READ_ONLY_CODE: code}
      const how = `; the evaluation was not saved \\(any earlier one in ${join(run, 'eval', 'test-best')} is as it was\\)\\. eval writes only into the run folder: once it can be written, run mixture eval again, or copy the run folder somewhere writable and evaluate the copy \\(cp -r ${run} <folder>/ && mixture eval <folder>/run\\)\\n`
      const r = mixture(['eval', run], {nodeArgs: ['--import', READ_ONLY], env})
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, new RegExp(`\\nError: cannot write ${join(run, 'eval')}: ${why}${how}`))
      assert.doesNotMatch(r.stderr, /ENOENT/)
      // With eval/ there, the temp folder beside test-best is what cannot be made.
      await evaluateRun({run})
      const again = mixture(['eval', run], {nodeArgs: ['--import', READ_ONLY], env})
      assert.equal(again.code, 1, again.stderr)
      assert.match(again.stderr, new RegExp(`\\nError: cannot write ${join(run, 'eval', 'test-best')}: ${why}${how}`))
    })
  }

  it('temp folders of a killed eval are removed by the next one, said in one line; those of a running process are kept', async () => {
    const run = copyOfRun()
    const evalDir = join(run, 'eval')
    const dead = endedPid()
    const killed = [`.test-best.tmp-${dead}-0`, `.val-best.tmp-${dead}@${hostname()}-2`]
    const running = `.test-last.tmp-${runningPid}@${hostname()}-1`
    for (const name of [...killed, running]) mkdirSync(join(evalDir, name), {recursive: true})
    const notes: string[] = []
    await evaluateRun({run, log: (m) => notes.push(m)})
    assert.deepEqual(readdirSync(evalDir).sort(), [running, 'test-best'])
    assert.deepEqual(
      notes.filter((n) => /leftover/.test(n)),
      [`removed 2 leftover folder(s) of writes killed before they ended, in ${evalDir}: ${[...killed].sort().join(', ')}`],
    )
  })

  it('an eval killed between setting test-best aside and renaming the new one in loses nothing: readers find the aside copy, the next eval puts it back, then replaces it', async () => {
    const run = copyOfRun()
    const testBest = join(run, 'eval', 'test-best')
    await evaluateRun({run})
    const metrics = readFileSync(join(testBest, 'metrics.json'), 'utf8')
    const killed = mixture(['eval', run], {nodeArgs: ['--import', KILL_IN_SWAP], env: {FAULT_KILL_SWAP: 'test-best'}})
    assert.equal(killed.signal, 'SIGKILL', killed.stderr)
    const asides = readdirSync(join(run, 'eval')).filter((n) => n.startsWith('.test-best.old-'))
    assert.equal(asides.length, 1, 'the old folder is kept under its aside name')
    assert.equal(readableFolder(testBest), join(run, 'eval', asides[0]))
    assert.equal(readFileSync(join(readableFolder(testBest)!, 'metrics.json'), 'utf8'), metrics)
    const notes: string[] = []
    const result = await evaluateRun({run, log: (m) => notes.push(m)})
    assert.ok(notes.includes(`restored ${testBest} from ${asides[0]}, where a write killed before it ended had set it aside`), notes.join('\n'))
    assert.deepEqual(readdirSync(join(run, 'eval')), ['test-best'])
    assert.deepEqual(JSON.parse(readFileSync(join(testBest, 'metrics.json'), 'utf8')), JSON.parse(JSON.stringify({...result, files: undefined})))
  })
})
