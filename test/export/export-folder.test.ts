// Where `mixture export` writes: an earlier export (of any format) in the folder is replaced, and
// nothing else is ever deleted — a folder holding files the export did not write is refused, naming
// them; a run folder that cannot be written says why and points to --out; leftovers of a killed
// export are removed by the next, and one killed while it replaced a folder loses nothing.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {exportRun} from '../../src/export/export-run.js'
import {ExportError} from '../../src/export/errors.js'
import {mixture, REPO, tempDir} from '../helpers.js'
import {endedPid, runningPid} from '../fs/pids.js'
import {makeRun, PAPER_ARCHITECTURES} from './helpers.js'

const READ_ONLY = join(REPO, 'dist', 'test', 'fs', 'read-only-fs.js')
const KILL_IN_SWAP = join(REPO, 'dist', 'test', 'fs', 'kill-in-swap.js')
const tinyRun = () => makeRun(tempDir(), 'cnn', PAPER_ARCHITECTURES['cnn-classifier'])

test("an earlier export beside the user's own files is refused, naming them, and nothing is deleted (--out and the default folder)", async () => {
  const run = await tinyRun()
  const out = join(tempDir(), 'weights')
  await exportRun({run, format: 'safetensors', out})
  writeFileSync(join(out, 'NOTES.md'), 'mine\n')
  mkdirSync(join(out, 'plots'))
  writeFileSync(join(out, 'plots', 'a.png'), 'png')
  const r = mixture(['export', run, '--format', 'safetensors', '--out', out])
  assert.equal(r.code, 2, r.stderr)
  assert.equal(
    r.stderr.trim(),
    `Error: --out ${out} holds an earlier export and files it did not write (NOTES.md, plots/); the export replaces the whole folder, so they would be lost. Move them out of ${out}, or give another folder with --out`,
  )
  assert.deepEqual(readdirSync(out).sort(), ['NOTES.md', 'export.json', 'model.safetensors', 'plots'])
  assert.equal(readFileSync(join(out, 'plots', 'a.png'), 'utf8'), 'png')

  const first = await exportRun({run, format: 'tfjs'})
  writeFileSync(join(first.out_dir, 'NOTES.md'), 'mine\n')
  await assert.rejects(exportRun({run, format: 'tfjs'}), (e: Error) => e instanceof ExportError && e.message.startsWith(`the export folder ${first.out_dir} holds an earlier export and files it did not write (NOTES.md);`))
  assert.equal(readFileSync(join(first.out_dir, 'NOTES.md'), 'utf8'), 'mine\n')
})

test('a folder holding only an earlier export, of the same or another format, is replaced by the new one', async () => {
  const run = await tinyRun()
  const out = join(tempDir(), 'weights')
  await exportRun({run, format: 'tfjs', out})
  await exportRun({run, format: 'tfjs', out})
  assert.deepEqual(readdirSync(out).sort(), ['export.json', 'group1-shard1of1.bin', 'model.json'])
  await exportRun({run, format: 'safetensors', out})
  assert.deepEqual(readdirSync(out).sort(), ['export.json', 'model.safetensors'])
  assert.deepEqual(readdirSync(join(out, '..')), ['weights'], 'no temp or aside folder is left beside it')
})

for (const [code, why] of [
  ['EROFS', 'the file system is read-only (EROFS)'],
  ['EACCES', 'no permission to write there (EACCES)'],
] as const) {
  test(`a run folder that cannot be written (${code}) is said as such, naming the folder and --out, exit 1; with --out elsewhere the export works`, async () => {
    const run = await tinyRun()
    const r = mixture(['export', run, '--format', 'safetensors'], {nodeArgs: ['--import', READ_ONLY], env: {FAULT_READ_ONLY: run, FAULT_READ_ONLY_CODE: code}})
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`^Error: cannot write ${join(run, 'export')}: ${why.replace(/[()]/g, '\\$&')}; nothing was exported \\(any earlier export in ${join(run, 'export', 'safetensors-best')} is as it was\\); give a folder that can be written with --out\\n`))
    assert.doesNotMatch(r.stderr, /ENOENT/)
    // Once there is an export folder, the temp folder beside the new one is what cannot be made.
    await exportRun({run, format: 'safetensors'})
    const again = mixture(['export', run, '--format', 'safetensors'], {nodeArgs: ['--import', READ_ONLY], env: {FAULT_READ_ONLY: run, FAULT_READ_ONLY_CODE: code}})
    assert.equal(again.code, 1, again.stderr)
    assert.match(again.stderr, new RegExp(`^Error: cannot write ${join(run, 'export', 'safetensors-best')}: ${why.replace(/[()]/g, '\\$&')}; nothing was exported`))
    const out = join(tempDir(), 'elsewhere')
    const elsewhere = mixture(['export', run, '--format', 'safetensors', '--out', out], {nodeArgs: ['--import', READ_ONLY], env: {FAULT_READ_ONLY: run, FAULT_READ_ONLY_CODE: code}})
    assert.equal(elsewhere.code, 0, elsewhere.stderr)
    assert.ok(existsSync(join(out, 'model.safetensors')))
  })
}

test("temp folders of a killed export are removed by the next one, said in one line; those of a running process are kept", async () => {
  const run = await tinyRun()
  const exports = join(run, 'export')
  const dead = endedPid()
  const killed = [`.tfjs-best.tmp-${dead}-0`, `.safetensors-best.tmp-${dead}@${hostname()}-3`]
  const running = `.tfjs-best.tmp-${runningPid}-1`
  for (const name of [...killed, running]) mkdirSync(join(exports, name), {recursive: true})
  const notes: string[] = []
  await exportRun({run, format: 'tfjs', log: (m) => notes.push(m)})
  assert.deepEqual(readdirSync(exports).sort(), [running, 'tfjs-best'])
  assert.deepEqual(
    notes.filter((n) => /leftover/.test(n)),
    [`removed 2 leftover folder(s) of writes killed before they ended, in ${exports}: ${[...killed].sort().join(', ')}`],
  )
})

test('an export killed between setting the old folder aside and renaming the new one in loses nothing: the next export puts it back, then replaces it', async () => {
  const run = await tinyRun()
  const first = await exportRun({run, format: 'tfjs'})
  const record = readFileSync(join(first.out_dir, 'export.json'), 'utf8')
  const killed = mixture(['export', run, '--format', 'tfjs'], {nodeArgs: ['--import', KILL_IN_SWAP], env: {FAULT_KILL_SWAP: 'tfjs-best'}})
  assert.equal(killed.signal, 'SIGKILL', killed.stderr)
  const asides = readdirSync(join(run, 'export')).filter((n) => n.startsWith('.tfjs-best.old-'))
  assert.equal(asides.length, 1, 'the old folder is kept under its aside name')
  assert.equal(readFileSync(join(run, 'export', asides[0], 'export.json'), 'utf8'), record)
  const next = mixture(['export', run, '--format', 'tfjs'])
  assert.equal(next.code, 0, next.stderr)
  assert.match(next.stderr, new RegExp(`restored ${first.out_dir} from ${asides[0].replace(/\./g, '\\.')}, where a write killed before it ended had set it aside`))
  assert.deepEqual(readdirSync(join(run, 'export')), ['tfjs-best'])
  assert.notEqual(readFileSync(join(first.out_dir, 'export.json'), 'utf8'), record, 'the next export replaced it')
})
