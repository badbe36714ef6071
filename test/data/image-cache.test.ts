// mixture data cache: the decoded-image cache files listed (what each holds, when last used) and
// cleared — all, or those unused for N days; an earlier layout's files and a killed write's
// temporary files with any clear, a write that may be under way not; a read marks a file used.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {imageCacheDir, readCache, writeCache} from '../../src/data/image-cache.js'
import {mixture, tempDir} from '../helpers.js'

const DAY = 86_400_000

/** A cache file of `count` 2×2 images, last used `daysAgo` days ago. */
async function cached(dir: string, name: string, count: number, daysAgo: number): Promise<string> {
  const file = join(dir, name)
  const split = {labels: new Uint8Array(count), images: new Uint8Array(count * 12), count}
  assert.equal(await writeCache(file, 2, {splits: {train: split, test: split}, skipped: []}), undefined)
  const when = new Date(Date.now() - daysAgo * DAY)
  utimesSync(file, when, when)
  return file
}

test('data cache lists the files (what each holds, most recently used first) and --clear --older-than removes the unused ones only', async () => {
  const home = tempDir()
  const env = {XDG_CACHE_HOME: home}
  const dir = join(home, 'mixture-models', 'datasets', 'image_folder')
  assert.match(mixture(['data', 'cache'], {env}).stdout, /no cache files in .*image_folder/)
  mkdirSync(dir, {recursive: true})
  await cached(dir, 'recent-0123456789abcdef0123456789abcdef.bin', 3, 1)
  const old = await cached(dir, 'old-0123456789abcdef0123456789abcdef.bin', 5, 40)
  const earlier = join(dir, 'earlier-0123456789abcdef0123456789abcdef.bin')
  writeFileSync(earlier, 'MMIMGC1\nnot this layout')
  utimesSync(earlier, new Date(Date.now() - 10 * DAY), new Date(Date.now() - 10 * DAY))
  const killed = join(dir, 'recent-0123456789abcdef0123456789abcdef.bin.123.tmp')
  writeFileSync(killed, 'half')
  utimesSync(killed, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
  const writing = join(dir, 'new-0123456789abcdef0123456789abcdef.bin.456.tmp')
  writeFileSync(writing, 'under way')
  const list = JSON.parse(mixture(['data', 'cache', '--json'], {env}).stdout)
  assert.equal(list.folder, dir)
  assert.deepEqual(
    list.files.map((f: {file: string; holds: string | null}) => [f.file.replace(`${dir}/`, ''), f.holds]),
    [
      ['new-0123456789abcdef0123456789abcdef.bin.456.tmp', null],
      ['recent-0123456789abcdef0123456789abcdef.bin.123.tmp', null],
      ['recent-0123456789abcdef0123456789abcdef.bin', '2×2: train 3, test 3'],
      ['earlier-0123456789abcdef0123456789abcdef.bin', null],
      ['old-0123456789abcdef0123456789abcdef.bin', '2×2: train 5, test 5'],
    ],
    'most recently used first',
  )
  assert.equal(list.files.at(-1).file, old)
  // The user's own file in the folder is not the cache's: never listed, never removed.
  writeFileSync(join(dir, 'notes.txt'), 'mine')
  const dry = mixture(['data', 'cache', '--clear', '--older-than', '30', '--dry-run'], {env})
  assert.match(dry.stdout, /would remove 3 file\(s\).*\(a dry run: nothing was removed\)/)
  assert.equal(readdirSync(dir).length, 6)
  const r = mixture(['data', 'cache', '--clear', '--older-than', '30'], {env})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /removed 3 file\(s\)/)
  assert.deepEqual(readdirSync(dir).sort(), ['new-0123456789abcdef0123456789abcdef.bin.456.tmp', 'notes.txt', 'recent-0123456789abcdef0123456789abcdef.bin'])
  // Days may be a fraction; anything else is refused saying what it takes.
  assert.equal(mixture(['data', 'cache', '--clear', '--older-than', '0.5', '--dry-run'], {env}).code, 0)
  const bad = mixture(['data', 'cache', '--clear', '--older-than', 'soon'], {env})
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--older-than takes a number of days, 0 or more/)
  // --clear alone: every file but a write that may be under way.
  mixture(['data', 'cache', '--clear'], {env})
  assert.deepEqual(readdirSync(dir).sort(), ['new-0123456789abcdef0123456789abcdef.bin.456.tmp', 'notes.txt'])
  assert.equal(mixture(['data', 'cache', '--older-than', '3'], {env}).code, 2, '--older-than goes with --clear')
  // A cache home that is a file: said as such, exit 2.
  const file = join(tempDir(), 'not-a-folder')
  writeFileSync(file, '')
  const notFolder = mixture(['data', 'cache'], {env: {XDG_CACHE_HOME: file}})
  assert.equal(notFolder.code, 2, notFolder.stderr)
  assert.match(notFolder.stderr, /is not a folder .*point XDG_CACHE_HOME elsewhere/)
})

test('a cache file read is marked used (its time moves), so that --older-than keeps what runs use', async () => {
  const dir = tempDir()
  const file = await cached(dir, 'f.bin', 2, 50)
  const before = statSync(file).mtimeMs
  assert.ok(await readCache(file, 2))
  assert.ok(statSync(file).mtimeMs > before + 40 * DAY)
  assert.ok(existsSync(file))
  assert.match(imageCacheDir(), /mixture-models[\\/]datasets[\\/]image_folder$/)
})
